"""The admin site as Deskhand's: its name, no Groups or Users (one operator signs in with the API
token; there is nobody to manage), and a way back to the pages.

Loaded by the admin's autodiscovery after django.contrib.auth's admin (INSTALLED_APPS order), so
the two models it registered can be taken off again.
"""

from django.contrib import admin
from django.contrib.auth.models import Group, User

admin.site.site_header = "Deskhand admin"
admin.site.site_title = "Deskhand admin"
admin.site.index_title = "Memory, runs and live sessions"
admin.site.site_url = "/"
# The sidebar repeats the index and takes a third of a laptop screen from the lists.
admin.site.enable_nav_sidebar = False

for model in (Group, User):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
