#!/usr/bin/python3
"""syslogd.py - a minimal syslog receiver for tests: SOCKET LOGFILE.

Binds a Unix datagram socket at SOCKET (mode 0666) and appends each message
to LOGFILE the way rsyslog writes /var/log/mail.log:
"Mmm dd hh:mm:ss HOST TAG[PID]: text". Runs until killed.
"""
import os
import re
import socket
import sys
import time

sock_path, log_path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
os.chmod(sock_path, 0o666)
host = socket.gethostname().split('.')[0]
head = re.compile(r'^<\d+>(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )?')
with open(log_path, 'a', encoding='utf-8') as log:
    while True:
        data = s.recv(65536).decode('utf-8', 'replace').rstrip('\n\0')
        text = head.sub('', data, count=1)
        log.write('%s %s %s\n' % (time.strftime('%b %d %H:%M:%S'), host, text))
        log.flush()
