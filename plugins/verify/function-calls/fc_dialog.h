/*
 * fc_dialog.h - function-calling dialogs read into one shape.
 *
 * Two layouts are read:
 *   messages  (OpenAI chat, synth.toolace's output) {"tools": [...],
 *             "messages": [{"role": "system"|"user"|"assistant"|"tool",
 *             "content", "tool_calls": [{"id", "type": "function",
 *             "function": {"name", "arguments"}}], "tool_call_id",
 *             "name", "finish_reason"?}]}; arguments are JSON text or an
 *             object
 *   conversations  (ShareGPT-style, as in the public ToolACE data)
 *             {"system": "... [tool definitions as a JSON list] ...",
 *             "conversations": [{"from": "user"|"assistant"|"tool",
 *             "value"}]}: an assistant value in Python call syntax
 *             ("[f(a=1)]") is a set of calls; a tool value is a JSON list
 *             of {"name", "results"} answering them in order
 * The dialog borrows strings from the record; parsed arguments and the
 * tool list built from a system prompt are owned.
 */
#ifndef FC_DIALOG_H
#define FC_DIALOG_H

#include <assay/plugin.h>
#include <stdbool.h>

enum { FC_SYSTEM = 0, FC_USER, FC_ASSISTANT, FC_TOOL, FC_BADROLE };

typedef struct fc_call {
    const char *id;   /* NULL when absent */
    const char *name; /* NULL when absent */
    char *own_name;   /* owned copy `name` points to, or NULL */
    json_t *args;     /* owned: the parsed object, or NULL */
    char *args_text;  /* owned: arguments as written */
    bool args_bad;    /* present but not a JSON object */
} fc_call;

typedef struct fc_msg {
    int role;
    const char *role_name;
    const char *content;  /* NULL when absent or null */
    bool content_present; /* the field exists (maybe null) */
    bool content_bad;     /* present but neither string nor null */
    fc_call *calls;
    size_t ncalls;
    const char *tool_call_id;
    const char *name; /* tool message: the function answered */
    const char *finish_reason;
} fc_msg;

typedef struct fc_dialog {
    json_t *tools; /* owned reference: the tool definitions */
    bool tools_missing;
    fc_msg *msgs;
    size_t n;
    bool messages_missing;
    const char *layout; /* "messages" or "conversations" */
} fc_dialog;

/*
 * Read record `rec`.  Only allocation failures are errors (ASSAY_ENOMEM);
 * malformed content is recorded in the dialog (missing fields, bad
 * roles) for the rule layer to name.
 */
int fc_dialog_read(const json_t *rec, fc_dialog *d, assay_error *err);

void fc_dialog_free(fc_dialog *d);

/* The definition of tool `name` in the dialog's tool list, or NULL. */
const json_t *fc_dialog_tool(const fc_dialog *d, const char *name);

/* The dialog as a readable transcript for LLM checks (caller frees). */
char *fc_dialog_transcript(const fc_dialog *d, size_t max_chars);

#endif
