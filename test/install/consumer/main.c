/* Uses the installed library: header, version, one object, libcurl. */
#include <stdio.h>
#include <string.h>

#include <alternator_lb.h>

int main(void)
{
    const char *seeds[] = {"127.0.0.1"};
    alt_lb *lb = NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    printf("alt_version() %s ALT_VERSION_STR %s\n", alt_version(),
           ALT_VERSION_STR);
    if (alt_lb_new(&lb, "http", 8000, seeds, 1) != ALT_OK) {
        fprintf(stderr, "alt_lb_new failed\n");
        return 1;
    }
    printf("url %s\n", alt_lb_url(lb));
    alt_lb_free(lb);
    curl_global_cleanup();
    return strcmp(alt_version(), ALT_VERSION_STR) == 0 ? 0 : 1;
}
