/* pool.c: see pool.h. */
#include "pool.h"

#include <string.h>

#define MAGIC 0x600df00du

void tu_pool_init(tu_pool *p, alt_lb *lb, CURLM *multi, int conc)
{
    memset(p, 0, sizeof *p);
    REQUIRE(conc >= 1 && conc <= TU_POOL_MAX);
    p->lb = lb;
    p->multi = multi;
    p->conc = conc;
    for (int i = 0; i < conc; i++) {
        p->slots[i].magic = MAGIC;
        p->slots[i].easy = curl_easy_init();
        REQUIRE(p->slots[i].easy);
    }
}

void tu_pool_start(tu_pool *p, tu_slot *s)
{
    tu_setup_api(s->easy, alt_lb_url(p->lb), "ListTables", "{}", &s->reply,
                 &s->headers);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    CHECK_EQ(alt_curl_prepare_ex(p->lb, s->easy, ALT_IDEMPOTENT), ALT_OK);
    CHECK_EQ(curl_multi_add_handle(p->multi, s->easy), CURLM_OK);
    s->busy = 1;
    p->added++;
}

void tu_pool_top_up(tu_pool *p, long *budget)
{
    for (int i = 0; i < p->conc && budget && *budget > 0; i++)
        if (!p->slots[i].busy) {
            tu_pool_start(p, &p->slots[i]);
            (*budget)--;
        }
}

/* The slot a message is for, or NULL if the message is none of ours. */
static tu_slot *slot_of(tu_pool *p, CURLMsg *m)
{
    char *priv = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    for (int i = 0; i < p->conc; i++) {
        tu_slot *s = &p->slots[i];
        if ((char *)s == priv && s->easy == m->easy_handle && s->busy
            && s->magic == MAGIC)
            return s;
    }
    fprintf(stderr, "  foreign message: handle %p private %p\n",
            (void *)m->easy_handle, (void *)priv);
    return NULL;
}

void tu_pool_read(tu_pool *p)
{
    CURLMsg *m;
    int left;
    while ((m = alt_multi_info_read(p->lb, &left))) {
        tu_slot *s = slot_of(p, m);
        if (!s) {
            p->foreign++;
            continue;
        }
        if (m->msg != CURLMSG_DONE) {
            p->not_done++;
            continue;
        }
        CURLcode result = m->data.result;
        curl_multi_remove_handle(p->multi, s->easy);
        if (alt_curl_retry(p->lb, s->easy, result)) {
            REQUIRE(curl_multi_add_handle(p->multi, s->easy) == CURLM_OK);
            p->retried++;
            continue;
        }
        tu_collect(s->easy, &s->reply);
        curl_slist_free_all(s->headers);
        s->headers = NULL;
        s->busy = 0;
        p->done++;
        if (result == CURLE_OK && s->reply.status == 200)
            p->ok200++;
        else
            fprintf(stderr, "  request failed: %s, HTTP %ld\n",
                    curl_easy_strerror(result), s->reply.status);
        if (result != CURLE_OK)
            p->failed++;
        int idx = tu_node_index(s->reply.ip);
        p->per_node[idx >= 1 && idx <= 255 ? idx : 0]++;
    }
}

int tu_pool_in_flight(const tu_pool *p)
{
    int n = 0;
    for (int i = 0; i < p->conc; i++)
        n += p->slots[i].busy;
    return n;
}

void tu_pool_check(const tu_pool *p)
{
    CHECK_EQ(p->foreign, 0);
    CHECK_EQ(p->not_done, 0);
    CHECK_EQ(p->done, p->added);
}

void tu_pool_cleanup(tu_pool *p)
{
    for (int i = 0; i < p->conc; i++) {
        tu_slot *s = &p->slots[i];
        if (s->busy)
            curl_multi_remove_handle(p->multi, s->easy);
        curl_slist_free_all(s->headers);
        curl_easy_cleanup(s->easy);
    }
    memset(p->slots, 0, sizeof p->slots);
}
