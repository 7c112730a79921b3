"""The Django integration as ``telegraphy plugins`` lists it; importable without Django."""

from telegraphy.plugins import Integration

integration = Integration(
    name="django", extra="django", requires=("django",),
    description="Django app: model events on commit, {% telegraphy_scripts %}, manage.py run_telegraph")
