/*
 * settings_value.h - the syntaxes of setting values (settings_value.c), for
 * the settings table (settings.c). Internal to the library.
 *
 * Status convention: pure parsers (lib/status.h, EXCEPTIONS): -1 with the
 * reason in why, or an outcome code; the caller (the table) turns it into
 * CONFIG or USAGE with the setting's name.
 */
#ifndef TR_SETTINGS_VALUE_H
#define TR_SETTINGS_VALUE_H

#include <stddef.h>

/* Decimal digits at p into *v, saturating at limit + 1. Returns the first
 * byte after the digits (p itself when there are none). */
const char *tr_scan_digits(const char *p, unsigned long limit, unsigned long *v);

/* A time: digits and an optional unit s, m, h, d or w; 1s up to a week. */
typedef enum tr_pt_res { TR_PT_OK, TR_PT_SYNTAX, TR_PT_RANGE } tr_pt_res;
tr_pt_res tr_time_parse(const char *s, int *out);

/* A port number 1-65535 into *port: 0, or -1 (not one). */
int tr_parse_port(const char *s, int *port);

/* Validations of string settings (never empty here): 0 when value is
 * good, possibly writing a normalised form to norm (left "" to keep value
 * as is); -1 with the reason in why. */
int tr_check_nexthop(const char *value, char *norm, size_t ncap, char *why, size_t wcap);
int tr_check_helo(const char *value, char *norm, size_t ncap, char *why, size_t wcap);
int tr_check_path(const char *value, char *norm, size_t ncap, char *why, size_t wcap);
int tr_check_resolver(const char *value, char *norm, size_t ncap, char *why, size_t wcap);
int tr_check_syslog_name(const char *value, char *norm, size_t ncap, char *why, size_t wcap);
int tr_check_dns_name(const char *value, char *norm, size_t ncap, char *why, size_t wcap);
int tr_check_metrics_listen(const char *value, char *norm, size_t ncap, char *why, size_t wcap);

#endif
