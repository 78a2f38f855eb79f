#!/usr/bin/env python3
"""bench/perf_classes.py - samples of `perf script` (perf record -g) by kind
of work, for bench/warm_cg MODE=perf (doc/PERFORMANCE.md, "Where the
delivery process's CPU goes").

Reads perf script's output on stdin; prints one line per class: samples,
share. A sample's class comes from its call chain (leaf first), in this
order of rules:

  user: OpenSSL      leaf in libcrypto/libssl
  user: tlsrelay     leaf in tlsrelayd or libtlsrelay
  user: libc/other   any other user-space leaf
  loopback: peer's receive on our send   a softirq/receive frame under our
                     own transmit (loopback runs the receiver's TCP/IP
                     input on the sender's CPU)
  loopback: receive in softirq (other)   receive frames without our send
  page faults        an exception/page-fault frame
  waking another process   sock_def_readable, unix_write_space, __wake_up:
                     the client, the daemon (the VM's inter-processor
                     interrupt shows where interrupts are enabled again)
  scheduler          __schedule, context switch (our own waits)
  TCP/IP send        tcp_sendmsg and the output path
  TCP receive        tcp_recvmsg (copying out, ACK decisions)
  unix socket        unix_* / scm_* (the client's request, descriptors)
  memfd/shmem        shmem_* (the memory spool)
  syscall entry/exit the leaf in the entry code (entry_SYSCALL_64,
                     syscall_exit_to_user_mode, mitigations)
  other kernel: NAME the rest, by the system call in the chain
"""
import re
import sys
from collections import Counter

SOFTIRQ = re.compile(r'^(net_rx_action|__do_softirq|handle_softirqs|do_softirq|__netif_receive_skb|'
                     r'process_backlog|ip_rcv|ip_local_deliver|tcp_v4_rcv|tcp_v6_rcv|tcp_rcv_established|'
                     r'tcp_v4_do_rcv)')
OURSEND = re.compile(r'^(tcp_sendmsg|__tcp_push_pending_frames|tcp_write_xmit|__tcp_transmit_skb|'
                     r'ip_queue_xmit|__dev_queue_xmit|loopback_xmit|tcp_send_ack|__tcp_send_ack|'
                     r'tcp_cleanup_rbuf|__local_bh_enable_ip|do_tcp_setsockopt)')
FAULT = re.compile(r'^(asm_exc_page_fault|exc_page_fault|handle_mm_fault|do_user_addr_fault)')
WAKE = re.compile(r'^(sock_def_readable|unix_write_space|sock_def_write_space|sk_stream_write_space|'
                  r'__wake_up|try_to_wake_up|pollwake|ttwu_)')
SCHED = re.compile(r'^(__schedule|schedule|finish_task_switch|try_to_wake_up|__wake_up|'
                   r'schedule_hrtimeout_range|pick_next_task|dequeue_task|enqueue_task)')
TCPSEND = re.compile(r'^(tcp_sendmsg|tcp_write_xmit|__tcp_transmit_skb|ip_queue_xmit|__dev_queue_xmit)')
TCPRECV = re.compile(r'^(tcp_recvmsg|tcp_read|tcp_poll)')
UNIX = re.compile(r'^(unix_|scm_|__scm_)')
SHMEM = re.compile(r'^(shmem_|memfd_|__x64_sys_memfd)')
ENTRY = re.compile(r'^(entry_SYSCALL|syscall_exit_to_user_mode|do_syscall_64|syscall_return_via_sysret|'
                   r'__x64_sys_|x64_sys_call|entry_SYSRETQ|srso_|__x86_return_thunk|'
                   r'exit_to_user_mode|arch_exit_to_user_mode|syscall_enter_from_user_mode|'
                   r'clear_bhb_loop|__pfx_)')
SYS = re.compile(r'^(?:__(?:x64|se)_sys_|ksys_|__sys_|do_sys_)(\w+)')


def classify(frames):
    """frames: [(symbol, dso)], leaf first."""
    if not frames:
        return 'unknown'
    sym, dso = frames[0]
    if '[kernel' not in dso:
        if 'libcrypto' in dso or 'libssl' in dso:
            return 'user: OpenSSL'
        if 'tlsrelay' in dso:
            return 'user: tlsrelay'
        return 'user: libc/other'
    syms = [s for s, d in frames if '[kernel' in d]
    for i, s in enumerate(syms):
        if SOFTIRQ.match(s):
            above = syms[i + 1:]
            if any(OURSEND.match(a) for a in above):
                return "loopback: peer's receive on our send"
            return 'loopback: receive in softirq (other)'
    for pat, name in ((FAULT, 'page faults'), (WAKE, 'waking another process'),
                      (SCHED, 'scheduler: our sleep, context switch'), (TCPSEND, 'TCP/IP send'),
                      (TCPRECV, 'TCP receive'), (UNIX, 'unix socket'), (SHMEM, 'memfd/shmem')):
        if any(pat.match(s) for s in syms):
            return name
    if ENTRY.match(syms[0]):
        return 'syscall entry/exit'
    for s in reversed(syms):
        m = SYS.match(s)
        if m:
            return 'other kernel: ' + m.group(1)
    return 'other kernel: ' + syms[0]


def samples(stream):
    frames = []
    for line in stream:
        line = line.rstrip('\n')
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if not line.startswith((' ', '\t')):
            frames = []
            continue
        parts = line.split()
        if len(parts) >= 3:
            sym = re.sub(r'\+0x[0-9a-f]+$', '', parts[1])
            frames.append((sym, parts[-1]))
    if frames:
        yield frames


def syscall_of(frames):
    for s, d in reversed(frames):
        m = SYS.match(s) if '[kernel' in d else None
        if m:
            return m.group(1)
    return '-' if '[kernel' in frames[0][1] else frames[0][1].rsplit('/', 1)[-1].strip('()')


def main():
    c, by = Counter(), Counter()
    for f in samples(sys.stdin):
        k = classify(f)
        c[k] += 1
        by[(k, syscall_of(f))] += 1
    total = sum(c.values()) or 1
    print('%-42s %8s %6s   by system call (or user-space object)' % ('class', 'samples', 'share'))
    for name, n in c.most_common():
        if n * 200 < total:
            continue
        subs = sorted(((v, s) for (k, s), v in by.items() if k == name), reverse=True)[:4]
        print('%-42s %8d %5.1f%%   %s' % (name, n, 100.0 * n / total,
                                        ', '.join('%s %d' % (s, v) for v, s in subs)))
    print('%-42s %8d' % ('total (classes under 0.5 % not shown)', total))


if __name__ == '__main__':
    main()
