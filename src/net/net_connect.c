/* net_connect.c - outgoing TCP connections with a deadline. */
#include "net/net_connect.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/str.h"

int net_split_host_port(const char *spec, char *host, size_t hostlen, char *port,
                        size_t portlen, tn_err *err)
{
    const char *colon;
    const char *h = spec;
    size_t hlen;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            return tn_errf(err, "bad address '%s': expected [IPv6]:PORT", spec);
        h = spec + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL || strchr(spec, ':') != colon)
            return tn_errf(err, "bad address '%s': expected HOST:PORT", spec);
        hlen = (size_t)(colon - spec);
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (hlen == 0 || plen == 0 || plen > 5 || strspn(p, "0123456789") != plen ||
        strtol(p, NULL, 10) < 1 || strtol(p, NULL, 10) > 65535)
        return tn_errf(err, "bad address '%s': expected HOST:PORT with port 1-65535", spec);
    if (hlen >= hostlen || tn_strlcpy(port, p, portlen) < 0)
        return tn_errf(err, "bad address '%s': too long", spec);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return 0;
}

int net_set_io_timeout(int fd, int timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        return -1;
    return 0;
}

/* Non-blocking connect, then wait for it, so a silent address cannot
 * hold us longer than the deadline. */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int *error)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *error = errno;
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        rc = poll(&pfd, 1, timeout_ms);
        socklen_t len = sizeof *error;
        if (rc == 0) {
            errno = ETIMEDOUT;
            rc = -1;
        } else if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, error, &len) == 0 &&
                   *error != 0) {
            errno = *error;
            rc = -1;
        } else if (rc > 0) {
            rc = 0;
        }
    }
    if (rc < 0) {
        *error = errno;
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, flags);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int net_connect(const char *host, const char *port, int timeout_ms, tn_err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return tn_errf(err, "cannot resolve %s: %s", host, gai_strerror(gai));
    int fd = -1, error = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = connect_one(ai, timeout_ms, &error);
    freeaddrinfo(res);
    if (fd < 0)
        return tn_errf(err, "cannot connect to %s port %s: %s", host, port, strerror(error));
    net_set_io_timeout(fd, timeout_ms);
    return fd;
}
