/* deliver.c - placeholder, being written */
