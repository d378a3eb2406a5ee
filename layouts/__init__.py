"""Page layouts: one module per page, components only. PAGES maps a path to its page."""

from layouts import (
    admin,
    attendance,
    data,
    definitions,
    impact,
    overview,
    planning,
    retention,
    surveys,
)

# path -> (title in the navigation, layout function taking the user's Scope)
PAGES = {
    "/": ("Overview", overview.layout),
    "/attendance": ("Attendance", attendance.layout),
    "/retention": ("Retention", retention.layout),
    "/surveys": ("Surveys", surveys.layout),
    "/impact": ("Impact", impact.layout),
    "/planning": ("Planning", planning.layout),
    "/data": ("Data", data.layout),
    "/admin": ("Admin", admin.layout),
    "/definitions": ("Definitions", definitions.layout),
}
# Pages linked beside the user's name, not among the navigation's pages.
HELP_PAGES = ("/definitions",)
# Pages that read the shared filter bar.
FILTERED_PAGES = ("/", "/attendance", "/retention", "/surveys", "/impact")
# Pages whose own picker is the period (the impact summary's fiscal year or quarter): the
# filter bar's Period is hidden there, its dates stay and follow the picker.
OWN_PERIOD_PAGES = ("/impact",)
