/* Renderers: one per output format, each drawing the whole model. */
#ifndef LS_RENDER_H
#define LS_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "model.h"

struct render_opts {
  bool color;      /* ANSI colors for severities (text only) */
  bool prefix_all; /* every text line starts with "loopscope" (output shared with the program's stderr) */
};

void render_text(FILE *out, const struct lsm *m, const struct render_opts *o);
void render_json(FILE *out, const struct lsm *m);

#endif
