/*
 * net_connect.h - outgoing TCP connections with a deadline.
 */
#ifndef TN_NET_CONNECT_H
#define TN_NET_CONNECT_H

#include "common/err.h"

/* Split "host:port" or "[v6addr]:port" into host and port.  0 or -1. */
int net_split_host_port(const char *spec, char *host, size_t hostlen, char *port,
                        size_t portlen, tn_err *err);

/* Connect to host:port (all addresses in turn) within timeout_ms; returns
 * a blocking socket with TCP_NODELAY, or -1 with the reason. */
int net_connect(const char *host, const char *port, int timeout_ms, tn_err *err);

/* Set SO_RCVTIMEO/SO_SNDTIMEO so blocking I/O cannot hang forever. */
int net_set_io_timeout(int fd, int timeout_ms);

#endif
