"""The studio process: one Studio per process, the post flow every face uses, the worker, the history."""
