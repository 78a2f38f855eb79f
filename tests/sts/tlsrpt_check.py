#!/usr/bin/python3
"""tlsrpt_check.py - check a TLS-RPT report against RFC 8460's structure.

    tlsrpt_check.py REPORT.json DOMAIN TYPE OK FAIL [RESULT-TYPE...]
    tlsrpt_check.py --mail MESSAGE.eml DOMAIN TYPE OK FAIL [RESULT-TYPE...]

The JSON must follow RFC 8460 section 4.4 (field names, types, required
fields, known policy and result types, failure counts adding up to the
summary); then its policies for DOMAIN of policy-type TYPE must add up to
OK successful and FAIL failed sessions, with each RESULT-TYPE among the
failure details. --mail first checks the report mail of section 5.3
(multipart/report; report-type="tlsrpt", application/tlsrpt+gzip,
TLS-Report-Domain, TLS-Report-Submitter, TLS-Required: No) and unpacks the
JSON from it. Exit 0 when every check passes; else the first problem on
stdout and exit 1. Standard library only.
"""
import email
import email.policy
import gzip
import json
import re
import sys

RESULT_TYPES = {
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
    "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
}
POLICY_TYPES = {"tlsa", "sts", "no-policy-found"}
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DETAIL_KEYS = {"result-type", "sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo",
               "receiving-ip", "failed-session-count", "additional-information",
               "failure-reason-code"}


class Bad(Exception):
    pass


def need(cond, what):
    if not cond:
        raise Bad(what)


def is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_policy(p):
    need(set(p) <= {"policy", "summary", "failure-details"}, "unknown key in policies[]: %s" % sorted(p))
    pol, summ = p.get("policy"), p.get("summary")
    need(isinstance(pol, dict) and isinstance(summ, dict), "policy and summary objects required")
    need(set(pol) <= {"policy-type", "policy-string", "policy-domain", "mx-host"}, "unknown key in policy")
    need(pol.get("policy-type") in POLICY_TYPES, "bad policy-type %r" % pol.get("policy-type"))
    need(isinstance(pol.get("policy-domain"), str) and pol["policy-domain"], "policy-domain required")
    for k in ("policy-string", "mx-host"):
        if k in pol:
            need(isinstance(pol[k], list) and all(isinstance(s, str) for s in pol[k]), k + " must be strings")
    need(set(summ) == {"total-successful-session-count", "total-failure-session-count"}, "summary keys")
    need(all(is_count(v) for v in summ.values()), "summary counts must be integers >= 0")
    details = p.get("failure-details", [])
    need(isinstance(details, list), "failure-details must be a list")
    total = 0
    for d in details:
        need(isinstance(d, dict) and set(d) <= DETAIL_KEYS, "unknown key in failure-details")
        need(d.get("result-type") in RESULT_TYPES, "bad result-type %r" % d.get("result-type"))
        need(is_count(d.get("failed-session-count")), "failed-session-count required")
        total += d["failed-session-count"]
    need(total == summ["total-failure-session-count"], "failure details do not add up to the summary")


def check_report(r):
    need(isinstance(r, dict), "the report is not an object")
    need(set(r) == {"organization-name", "date-range", "contact-info", "report-id", "policies"},
         "top-level keys: %s" % sorted(r))
    for k in ("organization-name", "contact-info", "report-id"):
        need(isinstance(r[k], str) and r[k], k + " must be a non-empty string")
    dr = r["date-range"]
    need(isinstance(dr, dict) and set(dr) == {"start-datetime", "end-datetime"}, "date-range keys")
    need(all(DATETIME.match(v) for v in dr.values()), "date-range values must be RFC 3339 date-times")
    need(dr["start-datetime"] < dr["end-datetime"], "date-range start after end")
    need(isinstance(r["policies"], list) and r["policies"], "policies must be a non-empty list")
    for p in r["policies"]:
        check_policy(p)


def totals(r, domain, ptype, results):
    ok = fail = 0
    seen = set()
    for p in r["policies"]:
        pol = p["policy"]
        if pol["policy-domain"] != domain or pol["policy-type"] != ptype:
            continue
        ok += p["summary"]["total-successful-session-count"]
        fail += p["summary"]["total-failure-session-count"]
        seen |= {d["result-type"] for d in p.get("failure-details", [])}
    missing = set(results) - seen
    return ok, fail, missing


def from_mail(path, domain):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    need(msg.get("TLS-Required", "").strip().lower() == "no", "TLS-Required: No missing")
    need(msg.get("TLS-Report-Domain", "").strip() == domain, "TLS-Report-Domain is not " + domain)
    need(msg.get("TLS-Report-Submitter", "").strip() != "", "TLS-Report-Submitter missing")
    need(msg.get_content_type() == "multipart/report", "not multipart/report")
    need(msg.get_param("report-type") == "tlsrpt", 'report-type is not "tlsrpt"')
    parts = [p for p in msg.iter_parts() if p.get_content_type() == "application/tlsrpt+gzip"]
    need(len(parts) == 1, "no application/tlsrpt+gzip part")
    name = parts[0].get_filename() or ""
    need(re.match(r"^[^!]+!%s!\d+!\d+![^!]+\.json\.gz$" % re.escape(domain), name),
         "attachment name %r is not submitter!domain!begin!end!id.json.gz" % name)
    return gzip.decompress(parts[0].get_payload(decode=True)).decode("utf-8")


def main(argv):
    mail = argv[1:2] == ["--mail"]
    args = argv[2:] if mail else argv[1:]
    path, domain, ptype, want_ok, want_fail, results = args[0], args[1], args[2], int(args[3]), int(args[4]), args[5:]
    try:
        if mail:
            text = from_mail(path, domain)
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        try:
            report = json.loads(text)
        except ValueError as e:
            raise Bad("not JSON: %s: %r" % (e, text[:200]))
        check_report(report)
        ok, fail, missing = totals(report, domain, ptype, results)
        need((ok, fail) == (want_ok, want_fail),
             "%s/%s: %d successful, %d failed; want %d, %d" % (domain, ptype, ok, fail, want_ok, want_fail))
        need(not missing, "result types missing: %s" % sorted(missing))
    except Bad as e:
        print("tlsrpt_check: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
