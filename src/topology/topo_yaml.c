/*
 * topo_yaml.c - the topology file as a bounded tree of YAML nodes.
 *
 * libyaml's event parser feeds a small builder that enforces our limits as
 * it goes (depth, node count, value size) and refuses the YAML features a
 * configuration file does not need and an attacker would love: aliases
 * (exponential "billion laughs" expansion), anchors, tags and several
 * documents in one file.
 */
#include <string.h>
#include <yaml.h>

#include "topology/topo_internal.h"

struct builder {
    struct topo_arena **arena;
    struct topology_diags *diags;
    struct ynode *stack[TOPO_MAX_DEPTH];
    size_t depth;
    size_t nodes;
    struct ynode *root;
    int documents;
};

static struct topo_pos mark_pos(const yaml_mark_t *mark)
{
    struct topo_pos pos = {(unsigned)mark->line + 1, (unsigned)mark->column + 1};
    return pos;
}

/* libyaml's reader reports a byte offset instead of a line. */
static struct topo_pos offset_pos(const char *buf, size_t len, size_t offset)
{
    struct topo_pos pos = {1, 1};
    for (size_t i = 0; i < offset && i < len; i++) {
        if (buf[i] == '\n') {
            pos.line++;
            pos.col = 1;
        } else {
            pos.col++;
        }
    }
    return pos;
}

static void syntax_error(struct builder *b, const yaml_parser_t *p, const char *buf, size_t len)
{
    /* At the end of input, libyaml's mark may sit on a line after the
     * last one (an unterminated last line): name the end itself. */
    struct topo_pos pos = p->error == YAML_READER_ERROR ? offset_pos(buf, len, p->problem_offset)
                          : p->problem_mark.index >= len ? offset_pos(buf, len, len)
                                                         : mark_pos(&p->problem_mark);
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_MEMORY_ERROR) {
        topo_diag(b->diags, TOPO_ERROR, pos, "out of memory while reading the YAML");
    } else if (p->context != NULL) {
        topo_diag(b->diags, TOPO_ERROR, pos, "YAML syntax: %s (%s at line %u)", problem,
                  p->context, (unsigned)p->context_mark.line + 1);
    } else {
        topo_diag(b->diags, TOPO_ERROR, pos, "YAML syntax: %s", problem);
    }
}

static int refuse_extras(struct builder *b, struct topo_pos pos, const yaml_char_t *anchor,
                         const yaml_char_t *tag)
{
    if (anchor != NULL) {
        topo_diag(b->diags, TOPO_ERROR, pos,
                  "anchors (&%s) and aliases are not supported: write each value out",
                  (const char *)anchor);
        return -1;
    }
    if (tag != NULL) {
        topo_diag(b->diags, TOPO_ERROR, pos, "tags (%s) are not supported: remove the tag",
                  (const char *)tag);
        return -1;
    }
    return 0;
}

static struct ynode *new_node(struct builder *b, enum ynode_kind kind, struct topo_pos pos)
{
    if (++b->nodes > TOPO_MAX_NODES) {
        topo_diag(b->diags, TOPO_ERROR, pos, "more than %d YAML values in the file",
                  TOPO_MAX_NODES);
        return NULL;
    }
    struct ynode *node = topo_arena_alloc(b->arena, sizeof *node);
    if (node == NULL) {
        topo_diag(b->diags, TOPO_ERROR, pos, "out of memory");
        return NULL;
    }
    node->kind = kind;
    node->pos = pos;
    if (b->depth > 0) {
        struct ynode *parent = b->stack[b->depth - 1];
        if (parent->last != NULL)
            parent->last->next = node;
        else
            parent->first = node;
        parent->last = node;
        parent->count++;
    } else if (b->root == NULL) {
        b->root = node;
    }
    return node;
}

static int add_scalar(struct builder *b, const yaml_event_t *ev)
{
    struct topo_pos pos = mark_pos(&ev->start_mark);
    if (refuse_extras(b, pos, ev->data.scalar.anchor, ev->data.scalar.tag) < 0)
        return -1;
    size_t len = ev->data.scalar.length;
    const char *value = (const char *)ev->data.scalar.value;
    if (len > TOPO_MAX_SCALAR) {
        topo_diag(b->diags, TOPO_ERROR, pos, "value of %zu bytes is longer than the limit of %d",
                  len, TOPO_MAX_SCALAR);
        return -1;
    }
    if (memchr(value, '\0', len) != NULL) {
        topo_diag(b->diags, TOPO_ERROR, pos, "value contains a NUL character");
        return -1;
    }
    struct ynode *node = new_node(b, YNODE_SCALAR, pos);
    if (node == NULL)
        return -1;
    node->value = topo_arena_strndup(b->arena, value, len);
    if (node->value == NULL) {
        topo_diag(b->diags, TOPO_ERROR, pos, "out of memory");
        return -1;
    }
    node->len = len;
    node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    return 0;
}

static int open_collection(struct builder *b, const yaml_event_t *ev, enum ynode_kind kind)
{
    struct topo_pos pos = mark_pos(&ev->start_mark);
    const yaml_char_t *anchor = kind == YNODE_MAP ? ev->data.mapping_start.anchor
                                                  : ev->data.sequence_start.anchor;
    const yaml_char_t *tag = kind == YNODE_MAP ? ev->data.mapping_start.tag
                                               : ev->data.sequence_start.tag;
    if (refuse_extras(b, pos, anchor, tag) < 0)
        return -1;
    if (b->depth >= TOPO_MAX_DEPTH) {
        topo_diag(b->diags, TOPO_ERROR, pos, "nested deeper than %d levels", TOPO_MAX_DEPTH);
        return -1;
    }
    struct ynode *node = new_node(b, kind, pos);
    if (node == NULL)
        return -1;
    b->stack[b->depth++] = node;
    return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    struct topo_pos pos = mark_pos(&ev->start_mark);
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > 1) {
            topo_diag(b->diags, TOPO_ERROR, pos,
                      "a second YAML document ('---'): the topology is one document");
            return -1;
        }
        return 0;
    case YAML_ALIAS_EVENT:
        topo_diag(b->diags, TOPO_ERROR, pos,
                  "aliases (*%s) are not supported: write each value out",
                  (const char *)ev->data.alias.anchor);
        return -1;
    case YAML_SCALAR_EVENT:
        return add_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return open_collection(b, ev, YNODE_LIST);
    case YAML_MAPPING_START_EVENT:
        return open_collection(b, ev, YNODE_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            b->depth--;
        return 0;
    default:
        return 0;
    }
}

struct ynode *topo_yaml_parse(const char *buf, size_t len, struct topo_arena **arena,
                              struct topology_diags *diags)
{
    struct builder b = {.arena = arena, .diags = diags};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        topo_diag(diags, TOPO_ERROR, (struct topo_pos){0, 0}, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    bool ok = true;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            syntax_error(&b, &parser, buf, len);
            ok = false;
            break;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        int rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc < 0) {
            ok = false;
            break;
        }
        if (end)
            break;
    }
    yaml_parser_delete(&parser);
    if (!ok)
        return NULL;
    if (b.root == NULL || (b.root->kind == YNODE_SCALAR && ynode_is_null(b.root))) {
        topo_diag(diags, TOPO_ERROR, (struct topo_pos){1, 1},
                  "the file is empty: a topology needs at least 'organisation:' and 'sites:'");
        return NULL;
    }
    if (b.root->kind != YNODE_MAP) {
        topo_diag(diags, TOPO_ERROR, b.root->pos,
                  "the topology must be a mapping of keys (organisation:, sites:, ...), "
                  "found %s", ynode_kind_name(b.root));
        return NULL;
    }
    return b.root;
}

bool ynode_is_null(const struct ynode *node)
{
    if (node->kind != YNODE_SCALAR || !node->plain)
        return false;
    return node->len == 0 || strcmp(node->value, "~") == 0 || strcmp(node->value, "null") == 0 ||
           strcmp(node->value, "Null") == 0 || strcmp(node->value, "NULL") == 0;
}

const char *ynode_kind_name(const struct ynode *node)
{
    switch (node->kind) {
    case YNODE_MAP:
        return "a mapping";
    case YNODE_LIST:
        return "a list";
    default:
        return ynode_is_null(node) ? "no value" : "a single value";
    }
}
