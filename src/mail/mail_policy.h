/*
 * mail_policy.h - every trust decision of the mail role, made from the
 * topology: who may relay through us, which inbound connector a client
 * must satisfy, and where and how (which TLS policy) a recipient's mail
 * leaves.
 *
 * Receiving:
 *   - A client that presented, over STARTTLS, a certificate chained to the
 *     enterprise CA (valid, unrevoked, clientAuth) naming one of our mail
 *     servers is an internal server: it may relay to any domain.
 *   - Anyone else may send only to our mail domains (no open relay).
 *   - An inbound connector applies to mail from its sender domains or
 *     client networks: it requires STARTTLS (else 530 5.7.0) and a client
 *     certificate from its CA with its name (else 550 5.7.1).
 * Sending, per recipient domain, first match wins:
 *   1. a mail route naming another of our mail servers (say, the one that
 *      faces the internet): mutual TLS with the enterprise certificates,
 *      never plaintext; that server then applies these rules itself;
 *   2. an outbound connector: its smart host (else the domain's route,
 *      else MX); TLS required and verified against its CA and name;
 *   3. a mail route: its host, opportunistic TLS;
 *   4. the domain's MX, opportunistic TLS.
 */
#ifndef TN_MAIL_MAIL_POLICY_H
#define TN_MAIL_MAIL_POLICY_H

#include <stdbool.h>
#include <sys/socket.h>

#include "common/err.h"
#include "smtp/smtp_client.h"
#include "tls/tls_conn.h"
#include "topology/topology.h"

typedef struct mail_policy mail_policy;

/* Build the decisions for server me of topo (borrowed: must outlive the
 * policy).  Loads the enterprise CA and CRLs and every connector's CA. */
mail_policy *mail_policy_new(const struct topology *topo, const char *me, tn_err *err);
void mail_policy_free(mail_policy *p);

/* The listener's STARTTLS configuration: our certificate; a client
 * certificate is asked for and judged, never required at the handshake
 * (opportunistic senders have none; connectors decide at MAIL FROM). */
tls_config *mail_policy_server_tls(const mail_policy *p);

/* --- receiving ------------------------------------------------------------ */

/* What a client proved with its certificate, decided once after STARTTLS. */
struct mail_client {
    bool tls;
    char internal_server[256]; /* our mail server it proved to be, or "" */
    char verdict[400];         /* for the connection's log line */
};

/* Judge the client certificate of a STARTTLS session (tls may have none). */
void mail_policy_identify(const mail_policy *p, tls_conn *tls, struct mail_client *client);

/* An SMTP refusal: "530 5.7.0 Must issue a STARTTLS command first". */
struct mail_refusal {
    int code;
    char enhanced[12];
    char text[300];
    char log[400]; /* why, for the log (may say more than the reply) */
};

/* MAIL FROM: the inbound connector that applies to this sender domain or
 * client address, and whether the session satisfies it.  0 when the mail
 * may go on (*connector: its name, or NULL when none applies); -1 with the
 * refusal.  tls: the session's TLS (NULL in plaintext). */
int mail_policy_check_sender(const mail_policy *p, const struct sockaddr *client_addr,
                             const char *sender_domain, const struct mail_client *client,
                             tls_conn *tls, const char **connector, struct mail_refusal *no);

/* RCPT TO: 0 when we take mail for this recipient domain from this
 * client, -1 with the refusal (relay denied). */
int mail_policy_check_rcpt(const mail_policy *p, const char *rcpt_domain,
                           const struct mail_client *client, struct mail_refusal *no);

/* --- sending --------------------------------------------------------------- */

struct mail_next_hop {
    char host[256];   /* DNS name or IP literal to connect to */
    uint16_t port;
    bool mx;          /* host is a domain: look up its MX records first */
    enum smtp_tls_policy tls_policy; /* see smtp/smtp_client.h */
    tls_config *tls;  /* client configuration (borrowed from the policy) */
    struct tls_expect expect; /* name borrowed from the topology */
    char policy_name[128]; /* for the log and mailq: "connector bank", ... */
};

/* Where mail for rcpt_domain goes next, and under which TLS policy. */
int mail_policy_next_hop(const mail_policy *p, const char *rcpt_domain,
                         struct mail_next_hop *hop, tn_err *err);

/* Our name in EHLO, Received: and bounces. */
const char *mail_policy_hostname(const mail_policy *p);

#endif
