"""The configuration page is generated from the settings classes and kept current."""

from __future__ import annotations

from tools import settings_doc


def test_the_committed_configuration_page_is_what_the_settings_classes_say() -> None:
    assert settings_doc.PAGE.read_text() == settings_doc.render(), "run `make docs`"


def test_every_setting_is_described() -> None:
    for _, settings_class in settings_doc.AREAS:
        undescribed = [n for n, f in settings_class.model_fields.items() if not f.description]

        assert undescribed == [], settings_class.__name__
