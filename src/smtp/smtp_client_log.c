/* smtp_client_log.c - the one log line of a delivery attempt (see
 * smtp_client.h). */
#include "smtp/smtp_client.h"

#include <string.h>

#include "common/str.h"

/* Is domain (len bytes) already in the comma-separated list? */
static bool listed(const char *list, const char *domain, size_t len)
{
    const char *p = list;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (tn_ascii_caseeq(p, n, domain, len))
            return true;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return false;
}

void smtp_delivery_log_recipients(struct smtp_delivery_log *log, const char *const *rcpts,
                                  size_t n_rcpts)
{
    log->domain[0] = '\0';
    for (size_t i = 0; i < n_rcpts; i++) {
        const char *at = rcpts[i] ? strrchr(rcpts[i], '@') : NULL;
        const char *domain = at ? at + 1 : "(no domain)";
        size_t len = strnlen(domain, 255);
        if (listed(log->domain, domain, len))
            continue;
        /* A truncated list still shows the first domains, marked so. */
        if (tn_appendf(log->domain, sizeof log->domain, "%s%.*s", log->domain[0] ? "," : "",
                       (int)len, domain) < 0) {
            size_t end = sizeof log->domain - 4;
            memcpy(log->domain + end, "...", 4);
            return;
        }
    }
}

/* Log fields come from servers (reply texts) and certificates: they are
 * printable already (smtp_reply, x509_text); quotes keep spaces readable. */
void smtp_delivery_log_format(const struct smtp_delivery_log *log, char *buf, size_t len)
{
    tn_snprintf(buf, len,
                "domain=%s relay=%s[%s] policy=\"%s\" tls=%s cipher=%s group=%s "
                "verdict=\"%s\" result=\"%s\"",
                log->domain[0] ? log->domain : "-", log->host, log->addr, log->policy,
                log->tls_version, log->cipher, log->group, log->verdict, log->result);
}
