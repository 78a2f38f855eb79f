/* smtp_client.c - placeholder, being written */
