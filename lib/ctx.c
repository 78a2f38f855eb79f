/* ctx.c - placeholder, being written */
