/* A small streaming JSON writer: indentation, commas and string escaping in one place. */
#ifndef LS_JSON_OUT_H
#define LS_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
  FILE *out;
  int depth;
  bool need_comma[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *out);
/* key is NULL inside arrays and for the top-level value. */
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_string(struct json *j, const char *key, const char *s); /* NULL -> null */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
void json_hex(struct json *j, const char *key, uint64_t v); /* "0x2a" */
/* Ends the document with a newline. */
void json_finish(struct json *j);

/* Writes s as a JSON string literal: control characters escaped, invalid UTF-8 as \ufffd. */
void json_write_escaped(FILE *out, const char *s);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
size_t json_utf8_len(const unsigned char *s);

#endif
