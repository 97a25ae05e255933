/*
 * client_limit.h - at most N connections open from one client address
 * (Postfix's smtpd_client_connection_count_limit, for every listener):
 * one address cannot take all of max_connections.  Addresses of our own
 * servers and partners' edges (the topology's) are exempt.  Shared by the
 * workers of a group, under one lock; an address with no connection left
 * takes no memory.
 */
#ifndef TN_NET_CLIENT_LIMIT_H
#define TN_NET_CLIENT_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IP address as a key: IPv4 as IPv4-mapped IPv6, so both forms of one
 * address are one client. */
struct client_key {
    uint8_t ip[16];
};

struct client_count;

struct client_limit {
    unsigned per_client; /* 0: no limit */
    pthread_mutex_t lock;
    struct client_count **buckets;
    size_t n_buckets;
    uint64_t seed;
    struct client_key *exempt; /* sorted */
    size_t n_exempt;
};

/* The key of sa (AF_INET or AF_INET6); false for any other family. */
bool client_key_of(const struct sockaddr *sa, struct client_key *out);

/* per_client 0: every take succeeds and nothing is counted. */
int client_limit_init(struct client_limit *cl, unsigned per_client);
void client_limit_free(struct client_limit *cl);
/* Never limit sa (one of our servers); false when out of memory. */
bool client_limit_exempt(struct client_limit *cl, const struct sockaddr *sa);

/* One more connection from key: true (counted) when under the limit or
 * exempt; false (not counted) when key already has per_client.  held:
 * how many key has now (may be NULL). */
bool client_limit_take(struct client_limit *cl, const struct client_key *key, unsigned *held);
/* A connection that take counted has closed. */
void client_limit_release(struct client_limit *cl, const struct client_key *key);

#endif
