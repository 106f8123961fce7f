"""Where bytes come from: files, archives, directories and standard input."""
