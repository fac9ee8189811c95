"""Running the notebooks: the command line, scheduled runs with Papermill, golden outputs."""
