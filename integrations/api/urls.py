from rest_framework.routers import DefaultRouter

app_name = "integrations"

router = DefaultRouter(trailing_slash=True)

urlpatterns = router.urls
