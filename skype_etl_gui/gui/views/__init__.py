"""Views: panels and windows. They show what presenters say and pass on what the person does; no I/O."""
