/*
 * trd_fdpass.h - sending descriptors over a unix socket (SCM_RIGHTS),
 * shared by tlsrelayc (which links nothing but libc: hence a header; it
 * gets it through trd_client.h), lib/daemon_client.c and tlsrelayd
 * (through tlsrelay_internal.h). Internal, never installed.
 */
#ifndef TRD_FDPASS_H
#define TRD_FDPASS_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define TRD_FDPASS_MAX 3

/* len bytes of buf in one sendmsg, with n (1..TRD_FDPASS_MAX) descriptors
 * riding on them; what sendmsg returned (EINTR retried). */
static inline ssize_t trd_send_fds(int s, const void *buf, size_t len, const int *fds, int n)
{
	union { char space[CMSG_SPACE(TRD_FDPASS_MAX * sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t r;

	memset(&u, 0, sizeof u);
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.space;
	mh.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)n * sizeof(int));
	do
		r = sendmsg(s, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r;
}

#endif
