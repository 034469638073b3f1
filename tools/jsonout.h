/* Writing JSON from the command-line tools (--json). */
#ifndef NTSD_TOOLS_JSONOUT_H
#define NTSD_TOOLS_JSONOUT_H

/* Prints s to stdout as a JSON string, quotes included. */
void json_str(const char *s);

#endif
