"""`skype_etl_gui.gui.main_window.MainWindow`, where the contract names it; the window is built in views/."""

from .views.main_window import MainWindow

__all__ = ["MainWindow"]
