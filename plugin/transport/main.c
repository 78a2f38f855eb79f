/*
 * main.c - tlsrelay, the sendmail-compatible transport program: the body
 * is transport.c (shared with tlsrelayd); see there for the options and
 * the decisions.
 */
#include "config.h"
#include "transport.h"

int main(int argc, char **argv)
{
	return tr_transport_main(argc, argv, NULL);
}
