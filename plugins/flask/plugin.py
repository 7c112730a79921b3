"""What ``telegraphy plugins`` says about the Flask integration; imports without Flask installed."""

from telegraphy.plugins import Integration

integration = Integration(
    name="flask", extra="flask", requires=("flask", "flask_sqlalchemy"),
    description="Flask extension: SQLAlchemy model events after commit, custom events, tokens, "
                "{{ telegraphy_scripts() }}, flask telegraphy gateway|check")
