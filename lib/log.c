/* log.c: the optional log callback. Silent unless the caller installs one. */
#include "alt_private.h"

#include <stdarg.h>
#include <stdio.h>

void alt__log(const alt_lb *lb, alt_log_level level, const char *fmt, ...)
{
    if (!lb->log_fn || level > lb->log_level)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lb->log_fn(lb->log_ud, level, msg);
}
