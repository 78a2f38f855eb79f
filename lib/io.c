/* io.c - placeholder, being written */
