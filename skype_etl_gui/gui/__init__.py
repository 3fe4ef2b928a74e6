"""The window. Everything Qt lives here; the pipeline in skype_etl_gui.etl never imports it."""
