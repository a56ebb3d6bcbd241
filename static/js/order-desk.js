/* The order desk (templates/web/order_new.html): SKU autocomplete from web:sku-lookup
 * (name, price, available per warehouse; any case) and "Add a line" (a copy of the formset's
 * empty form). A file, not inline script: the Content-Security-Policy allows no inline code. */
(function () {
  "use strict";
  var form = document.getElementById("order-desk");
  if (!form) return;
  var url = form.dataset.skuUrl;
  var total = form.querySelector("input[name='lines-TOTAL_FORMS']");
  var body = document.querySelector("#order-lines tbody");
  var template = document.getElementById("line-template");
  var timer = null;

  function describe(r) {
    var where = r.available.map(function (a) { return a.warehouse + ": " + a.text + " available"; }).join(", ");
    return r.name + " · " + r.price_text + (where ? " · " + where : " · no stock");
  }

  function close(list) { list.hidden = true; list.textContent = ""; }

  function choose(input, list, r) {
    input.value = r.sku;
    var info = input.parentNode.querySelector(".line-info");
    if (info) info.textContent = describe(r);
    close(list);
    input.focus();
  }

  function show(input, list, results) {
    list.textContent = "";
    results.forEach(function (r, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = input.id + "-opt-" + i;
      li.tabIndex = -1;
      var strong = document.createElement("strong");
      strong.textContent = r.sku;
      li.appendChild(strong);
      li.appendChild(document.createTextNode(" " + describe(r)));
      li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(input, list, r); });
      li.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); choose(input, list, r); }
        if (e.key === "ArrowDown" && li.nextSibling) { e.preventDefault(); li.nextSibling.focus(); }
        if (e.key === "ArrowUp") { e.preventDefault(); (li.previousSibling || input).focus(); }
        if (e.key === "Escape") { close(list); input.focus(); }
      });
      list.appendChild(li);
    });
    list.hidden = results.length === 0;
    input.setAttribute("aria-expanded", results.length ? "true" : "false");
  }

  function lookup(input) {
    var list = input.parentNode.querySelector(".sku-options");
    var q = input.value.trim();
    if (!list) return;
    if (q.length < 1) { close(list); return; }
    fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) { if (input.value.trim() === q) show(input, list, data.results); })
      .catch(function () { close(list); });
  }

  form.addEventListener("input", function (e) {
    if (!e.target.matches("[data-sku-input]")) return;
    clearTimeout(timer);
    var input = e.target;
    timer = setTimeout(function () { lookup(input); }, 150);
  });
  form.addEventListener("keydown", function (e) {
    if (!e.target.matches("[data-sku-input]")) return;
    var list = e.target.parentNode.querySelector(".sku-options");
    if (e.key === "ArrowDown" && list && !list.hidden && list.firstChild) { e.preventDefault(); list.firstChild.focus(); }
    if (e.key === "Escape" && list) close(list);
  });
  form.addEventListener("focusout", function (e) {
    if (!e.target.matches("[data-sku-input]")) return;
    var list = e.target.parentNode.querySelector(".sku-options");
    setTimeout(function () { if (list && !list.contains(document.activeElement)) close(list); }, 150);
  });

  var add = document.getElementById("add-line");
  if (add && template && total && body) {
    add.addEventListener("click", function () {
      var n = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(n)).replace(/__n__/g, String(n + 1));
      body.insertAdjacentHTML("beforeend", html);
      total.value = String(n + 1);
      var sku = body.querySelector("input[name='lines-" + n + "-sku']");
      if (sku) sku.focus();
    });
  }
})();
