/* message.c - placeholder, being written */
