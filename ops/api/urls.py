from rest_framework.routers import DefaultRouter

app_name = "ops"

router = DefaultRouter(trailing_slash=True)

urlpatterns = router.urls
