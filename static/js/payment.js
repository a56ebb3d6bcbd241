/* The payment form's running allocated total (templates/web/_payment_invoices.html): the sum of
 * the allocation rows against the amount received (or what is on account), updated as you
 * type. The server checks the same again (ops/web/views/finance.py _read_allocations). */
(function () {
  "use strict";
  function number(text) {
    var v = parseFloat(String(text || "").replace(/,/g, ""));
    return isFinite(v) ? v : 0;
  }
  function money(v) {
    return v.toLocaleString(document.documentElement.lang || "en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function available(form) {
    if (form.dataset.available) return number(form.dataset.available);
    var amount = form.querySelector("input[name='amount']");
    return amount ? number(amount.value) : 0;
  }
  function update(form) {
    var box = form.querySelector("[data-allocations]");
    if (!box) return;
    var total = 0;
    box.querySelectorAll("input[name^='alloc-']").forEach(function (i) { total += number(i.value); });
    var out = box.querySelector("#allocated-total");
    var note = box.querySelector("#allocation-note");
    var avail = available(form);
    if (out) out.textContent = money(total);
    if (note) {
      if (total > avail + 0.0001) {
        note.textContent = "Allocated " + money(total) + " is more than the " + money(avail) + " available.";
        note.className = "error";
      } else {
        note.textContent = money(avail - total) + " stays on account.";
        note.className = "muted";
      }
    }
  }
  document.addEventListener("input", function (e) {
    var form = e.target.closest("form");
    if (form && (e.target.name === "amount" || /^alloc-/.test(e.target.name))) update(form);
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var form = e.target.closest ? e.target.closest("form") : null;
    if (form) update(form);
  });
  document.querySelectorAll("form").forEach(update);
})();
