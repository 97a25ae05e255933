/* smtp_parse.c - the parsers' fault table and reply line (see the header). */
#include "smtp/smtp_parse.h"

#include <string.h>

#include "common/str.h"

/* One table, so a fault always gets the same code wherever it is found. */
static const struct {
    int code;
    const char *enhanced;
} fault_codes[] = {
    [SMTP_FAULT_NONE] = { 250, "2.0.0" },
    [SMTP_FAULT_SYNTAX] = { 500, "5.5.2" },
    [SMTP_FAULT_LINE_TOO_LONG] = { 500, "5.5.2" },
    [SMTP_FAULT_BARE_LF] = { 500, "5.5.2" },
    [SMTP_FAULT_ARGUMENT] = { 501, "5.5.4" },
    [SMTP_FAULT_SENDER] = { 501, "5.1.7" },
    [SMTP_FAULT_RECIPIENT] = { 501, "5.1.3" },
    [SMTP_FAULT_PARAM_UNSUPPORTED] = { 555, "5.5.4" },
    [SMTP_FAULT_TOO_BIG] = { 552, "5.3.4" },
    [SMTP_FAULT_DATA_BARE_CR_LF] = { 550, "5.5.2" },
    [SMTP_FAULT_DATA_SINK] = { 451, "4.3.0" },
};
#define FAULT_COUNT (sizeof(fault_codes) / sizeof(fault_codes[0]))

int smtp_parse_fail(struct smtp_parse_error *err, enum smtp_fault fault,
                    const char *text)
{
    if (!err)
        return -1;
    size_t k = (size_t)fault < FAULT_COUNT ? (size_t)fault : SMTP_FAULT_SYNTAX;
    err->fault = (enum smtp_fault)k;
    err->code = fault_codes[k].code;
    (void)tn_strlcpy(err->enhanced, fault_codes[k].enhanced,
                     sizeof(err->enhanced));
    /* Cutting a long reason is harmless: the code carries the meaning. */
    (void)tn_strlcpy(err->text, text ? text : "", sizeof(err->text));
    /* The text goes on the wire: never let it end the reply line early. */
    for (char *c = err->text; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    return -1;
}

int smtp_parse_error_reply(const struct smtp_parse_error *err, char *buf,
                           size_t size)
{
    return tn_snprintf(buf, size, "%d %s %s\r\n", err->code, err->enhanced,
                       err->text);
}
