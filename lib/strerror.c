/* strerror.c: texts for alt_code, and the version string. */
#include "alt_private.h"

const char *alt_strerror(alt_code code)
{
    switch (code) {
    case ALT_OK: return "no error";
    case ALT_E_INVALID_ARG: return "invalid argument";
    case ALT_E_NOMEM: return "out of memory";
    case ALT_E_STATE: return "not allowed in the current state";
    case ALT_E_CURL: return "libcurl refused an option or call";
    case ALT_E_THREAD: return "could not create a thread or lock";
    case ALT_E_UNREACHABLE: return "no node could be connected to";
    case ALT_E_TIMEOUT: return "node did not answer in time";
    case ALT_E_HTTP_STATUS: return "/localnodes answered a non-200 status";
    case ALT_E_BAD_RESPONSE: return "/localnodes answer is not a JSON array of strings, or too big";
    case ALT_E_EMPTY_LIST: return "/localnodes answer holds no valid node address";
    case ALT_E_ABORTED: return "discovery aborted by stop";
    case ALT_E_UNKNOWN: return "not known yet";
    }
    return "unknown alt_code";
}

const char *alt_version(void)
{
    return ALT_VERSION_STR;
}
