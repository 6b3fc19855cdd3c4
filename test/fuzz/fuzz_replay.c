/*
 * Without libFuzzer: runs the fuzz target over every file named on the
 * command line, then over a bounded number of random mutations of them
 * (fixed seed, so a failure is reproducible).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 4096
#define MUTATIONS 20000

int main(int argc, char **argv)
{
    static uint8_t inputs[64][MAX_INPUT];
    size_t sizes[64], n = 0;
    curl_global_init(CURL_GLOBAL_ALL);
    for (int i = 1; i < argc && n < 64; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        sizes[n] = fread(inputs[n], 1, MAX_INPUT, f);
        fclose(f);
        LLVMFuzzerTestOneInput(inputs[n], sizes[n]);
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "usage: %s CORPUS-FILE...\n", argv[0]);
        return 1;
    }
    srand(12345);
    uint8_t buf[MAX_INPUT];
    for (int m = 0; m < MUTATIONS; m++) {
        size_t k = (size_t)rand() % n, len = sizes[k];
        memcpy(buf, inputs[k], len);
        for (int edits = 1 + rand() % 4; edits > 0; edits--) {
            size_t at = len ? (size_t)rand() % len : 0;
            switch (rand() % 3) {
            case 0: if (len) buf[at] = (uint8_t)rand(); break;     /* flip */
            case 1: if (len) memmove(buf + at, buf + at + 1, len - at - 1), len--; break;
            default: if (len < MAX_INPUT) {                       /* insert */
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)"[]\",\\:.0a "[rand() % 11];
                len++;
            }
            }
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("%zu corpus files and %d mutations parsed\n", n, MUTATIONS);
    curl_global_cleanup();
    return 0;
}
