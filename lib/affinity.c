/*
 * affinity.c: the key hash, Go's math/rand, and the Go client's query plan
 * (see affinity.h and the note key-affinity.md). Standalone: it includes
 * nothing else of lib/, so that the same file can be checked alone against
 * the Go oracle (test/oracle).
 */
#include "affinity.h"

#include <stdbool.h>
#include <string.h>

/* ---- MurmurHash3 x64_128, h1 ---------------------------------------- */

#define C1 UINT64_C(0x87c37b91114253d5)
#define C2 UINT64_C(0x4cf5ad432745937f)

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

/* Little-endian whatever the host, without alignment assumptions. */
static inline uint64_t load_le(const uint8_t *p, unsigned n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) { /* one load */
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
#endif
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

typedef struct {
    uint64_t h1, h2;
} mm3;

static inline void mm3_block(mm3 *s, uint64_t k1, uint64_t k2)
{
    k1 *= C1;
    k1 = rotl64(k1, 31);
    k1 *= C2;
    s->h1 ^= k1;
    s->h1 = rotl64(s->h1, 27);
    s->h1 += s->h2;
    s->h1 = s->h1 * 5 + 0x52dce729;

    k2 *= C2;
    k2 = rotl64(k2, 33);
    k2 *= C1;
    s->h2 ^= k2;
    s->h2 = rotl64(s->h2, 31);
    s->h2 += s->h1;
    s->h2 = s->h2 * 5 + 0x38495ab5;
}

/* Murmur3 h1 of the bytes prefix (when has_prefix) followed by data, read
 * in place: the key hash must neither allocate nor copy a long key. Only
 * the first block straddles the two; every later one is data shifted by
 * one byte. */
static int64_t murmur3_h1_prefixed(bool has_prefix, uint8_t prefix,
                                   const uint8_t *data, size_t len)
{
    size_t pre = has_prefix ? 1 : 0;
    size_t total = len + pre;
    size_t blocks = total / 16;
    mm3 s = {0, 0};

    for (size_t j = 0; j < blocks; j++) {
        uint64_t k1, k2;
        if (j == 0 && pre) {
            k1 = prefix | load_le(data, 7) << 8;
            k2 = load_le(data + 7, 8);
        } else {
            const uint8_t *b = data + 16 * j - pre;
            k1 = load_le(b, 8);
            k2 = load_le(b + 8, 8);
        }
        mm3_block(&s, k1, k2);
    }

    /* The tail, bytes taken UNSIGNED (the Go client's int64(byte)), read
     * from a copy padded with zeros: two loads instead of a byte loop. */
    uint8_t tail[16] = {0};
    size_t rest = total & 15;
    if (blocks == 0 && pre) {
        tail[0] = prefix;
        if (len)
            memcpy(tail + 1, data, len);
    } else if (rest) {
        memcpy(tail, data + 16 * blocks - pre, rest);
    }
    uint64_t k1 = load_le(tail, 8), k2 = load_le(tail + 8, 8);
    if (rest > 8) {
        k2 *= C2;
        k2 = rotl64(k2, 33);
        k2 *= C1;
        s.h2 ^= k2;
    }
    if (rest > 0) {
        k1 *= C1;
        k1 = rotl64(k1, 31);
        k1 *= C2;
        s.h1 ^= k1;
    }

    s.h1 ^= (uint64_t)total;
    s.h2 ^= (uint64_t)total;
    s.h1 += s.h2;
    s.h2 += s.h1;
    s.h1 = fmix64(s.h1);
    s.h2 = fmix64(s.h2);
    s.h1 += s.h2;
    /* Two's complement, as Go's int64: memcpy avoids the
     * implementation-defined conversion of a large unsigned value. */
    int64_t out;
    memcpy(&out, &s.h1, sizeof out);
    return out;
}

int64_t alt__murmur3_h1(const void *data, size_t len)
{
    return murmur3_h1_prefixed(false, 0, data, len);
}

int64_t alt__key_hash(char type, const void *value, size_t len)
{
    uint8_t prefix = type == 'S' ? 1 : type == 'N' ? 2 : 3;
    return murmur3_h1_prefixed(true, prefix, value, len);
}

/* ---- Go's math/rand ------------------------------------------------- */

/*
 * Go's rngSource (src/math/rand/rng.go): an additive lagged Fibonacci
 * generator over 607 words, x[k] = x[k-607] + x[k-273] mod 2^64. Seeding
 * reduces the seed modulo M = 2^31-1 (0 becomes 89482311), steps the
 * Lehmer generator x <- 48271 x mod M 20 times, then fills word i from
 * its next three values x_{21+3i}, x_{22+3i}, x_{23+3i} (x_j = seed *
 * 48271^j mod M) XOR rngCooked[i].
 *
 * Draw k (from 0) moves tap to 606-k and feed to 333-k (mod 607), writes
 * vec[feed] += vec[tap] and returns the sum. Slot 606-k was last written
 * by draw k-273 (its feed slot then), slot 333-k by draw k-607. So for
 * k < 607 a draw is the seeded word (333-k) mod 607 plus either the seeded
 * word 606-k (k < 273) or draw k-273 -- which unrolls into at most three
 * seeded words, each three multiplications from the reduced seed with the
 * power table below. That is all the fast generator does.
 */

#define GO_M 2147483647u /* 2^31-1, Go's int32max */
#define GO_A 48271u
#define GO_ZERO_SEED 89482311u
#define GO_TAP 273
#define GO_MASK ((UINT64_C(1) << 63) - 1)

/* BEGIN GENERATED by test/oracle/gen_affinity_tables.py: do not edit. */
static const uint64_t rng_cooked[ALT__GORAND_LEN] = {
    0xc5f74a33eb98ffeau, 0xc07b4a41ba965f5bu, 0x135ec513cb81af0fu,
    0x4a04fb5ca74395ebu, 0xa7e8831c7710cf8eu, 0x7d5de4e88f37c1c3u,
    0x6321cf7743ff85a9u, 0x42cb06556a9ff961u, 0x6e26c8d140e8d7d2u,
    0x49a7511f3411faa0u, 0x71ed774922a65055u, 0x9d5c9fc65fea2d5cu,
    0x3fbdab394a014368u, 0x70fa33596992340bu, 0xae10fb4ecea66a02u,
    0xf79fbca98bbcd18au, 0x97f7ccb12ea380acu, 0x0191d794caf32b1bu,
    0x3f6a323424e32cafu, 0xc642cc921f01142bu, 0xa122869f4ff38068u,
    0xa5b1a31127af3920u, 0x5b07a4f9bdc29d96u, 0x6a2a973c29812586u,
    0x6aa433dbf77a52e1u, 0x8394216e3b8ac99eu, 0xdb80a9c5515b997cu,
    0x03c3f2eff3cbf769u, 0xa6b5e431eeff210cu, 0x0ec85334992953f5u,
    0x2e6a1432df10d1e9u, 0xbde4629959d1b149u, 0x67994c3876387951u,
    0x0e15d461559bae63u, 0xbdbf96c4e9d2a077u, 0xb04f62866ada20f3u,
    0x2190da1646db97bfu, 0x5071873c1832957au, 0x3e3b503a19da904bu,
    0x33e388a5f2c78528u, 0xbec70bac19d0e877u, 0x00256970f81bf072u,
    0xf7d18a14f64fa886u, 0xa46ef978b4d4734cu, 0x782ff1573127a78eu,
    0x00241b0ad59beba6u, 0xdac549591fe95b2fu, 0x6195faf2884c2d39u,
    0x569c2bbdb0ef345du, 0x0b8b6039508ce21eu, 0xef1576705435d2bbu,
    0x1d5e900af5f1d8f7u, 0x1e902d187d7fd437u, 0x7f227b7c8fe0eb79u,
    0x38790e6201ebbb98u, 0x44818eac7922e171u, 0x0658d6c550dad340u,
    0x84bfb894cc72969au, 0xa7855141e3b329bdu, 0x9cb31556b1bae746u,
    0x3ca09004f9686f49u, 0x0c50146d7e508769u, 0xcd35d8ff935ac970u,
    0xde9818b4aa1554d8u, 0x4df37efd6433daa0u, 0xf591e9ad05b2e056u,
    0x1767eb0bdbf83e29u, 0xb8247292535299f2u, 0xbae645975a5e4cebu,
    0xecea78155c3bc32bu, 0x4e295e5357ace86eu, 0x8b906a9a4fadbb08u,
    0xfd50086af64463c9u, 0xad0385acfd19d6fcu, 0xbbe6d4a5e1d13a9fu,
    0xfc099f33b79b039cu, 0xd9782224840c5a35u, 0x174e38bc45d51acfu,
    0x53f82f9f54de4e3eu, 0xe10dfa0a87b3ef0eu, 0xea09d9ec7b439769u,
    0x519ec3c7cc4c5011u, 0x0b47990fc413e3d5u, 0x3f07e07ecfce5be2u,
    0xa5d2d0b8b71922beu, 0x451eea1fc87cc761u, 0xc8505edef7f1d6ddu,
    0xfb6ed78e001ce905u, 0xd7cc0a3644f468bau, 0x14c231db2e4429d0u,
    0xe21ccd9a90943dd3u, 0x664869f5288fc2d1u, 0xddc56f604e168fb5u,
    0x4151e4abb0b1faf6u, 0xec9647e8cea7b927u, 0x76a742187dbe61deu,
    0x80778d4049780e3cu, 0x92714446c26ce413u, 0x65475bc019e7700bu,
    0x0e08781d60d86d17u, 0x9f0f0fe9d5f571e0u, 0x476e62bf33886e57u,
    0x8c710cff524eb4e6u, 0x24e856a59e3899a5u, 0x549f7c8b5783189au,
    0x9808539c06020014u, 0xb8fc59eeb2515467u, 0xf38fff8b8499a614u,
    0xf5a62be73a3d5222u, 0x508b82832b4c4838u, 0xf5109fc7682ff8deu,
    0xd31cadf15cc53f0cu, 0xc1720509406b5826u, 0xe900715210bc96fau,
    0x0704fe3536d393fbu, 0xc65c9b6eccaefb4au, 0x8bafc73092be4019u,
    0x07f0b599d77889eau, 0x18de0a49b8fa589bu, 0x2f174e71c9830ff0u,
    0xb470b780a26785ddu, 0x20a6b76123b162beu, 0x91efbd24cdc58322u,
    0xfb7bb75026b32623u, 0xd03d1caf9a1f04d0u, 0xa5f0f909bcaee921u,
    0x46aa7ced9d1c8e0bu, 0xfcd8a79e7a62b6f9u, 0x3ac4cf05bce83f14u,
    0x45c579a008a037c4u, 0x4053888e527912d0u, 0xf88fa0b2289f7b17u,
    0x51fbaf5d2002bddau, 0x8ae403a812ca4784u, 0x0d7ea237329fa450u,
    0xcb3f04bf02b6f208u, 0xc796643e8a39ed33u, 0xfd92d79ed75b6419u,
    0x216821c8b258e8acu, 0xe93d3aff7b46e931u, 0x36b0858cfcb72b6au,
    0xae5e3c9fe7ff1167u, 0x2af4c395391cc2a5u, 0xe6c4fd076feb7676u,
    0x50efb5fb31ede773u, 0x6d7f243359dbfcaeu, 0x7193e740340e0fdbu,
    0x8ff51f73a4c6dd92u, 0x94534b6efa1ca966u, 0xc06a724520d70d41u,
    0x30cd16bd19120592u, 0x8d456b580c2cd6dcu, 0x5c62bc0d6a8429efu,
    0x48744ea9b8e9395eu, 0x18ef14825c84aee1u, 0x4a1e32b73a71e234u,
    0x0fee6f27c45228c0u, 0x464e2e3be0d2e4a1u, 0x23bb67f482e16008u,
    0x0f11b541e8247327u, 0xae7df90c7d2aafd7u, 0x54e1f496142c391au,
    0x1d400ef625fa4274u, 0x9906966610ce9e13u, 0x22455934d7c1ccdau,
    0xe6414239b7da9220u, 0xb49f9091f6275556u, 0x82916b3d64288abdu,
    0x9f52d0a1c7066fa0u, 0x642a666cfb8cf0a1u, 0x8c9d981db063ad83u,
    0x63dfa26158b67e4au, 0xce3cfe36ebecc2dfu, 0xb6e4eb2ba55364ffu,
    0x6fd2179e0d7717d1u, 0xb971a2b7362247dbu, 0xdbe5cf25d510c53bu,
    0x930f28ad73735261u, 0x5a95dd01047feb8bu, 0x30adb1407358b45au,
    0x7fb44776784c1083u, 0x1b20e8f4eb075406u, 0xdc275f40b6c7c0d9u,
    0x732df8dda67b0f27u, 0xb62637afc484c885u, 0x61c98649838bf631u,
    0xdf061fee30277f58u, 0x95d322052dac1455u, 0x7ad30486e478aee9u,
    0x3267221f4aced145u, 0x479807052c3566b8u, 0xa8025350a77ea0b9u,
    0x421a7ec2fc169cd3u, 0x57273ab05129a700u, 0xbae4f7fb719f43f2u,
    0x1c5bd857e8b8bf48u, 0xdad594186971f359u, 0x3f518aad9c427014u,
    0x4c43c3b8cc8e8218u, 0x981fba566f92dfb7u, 0x07acaac55435c0acu,
    0x5fb0881038cbbc8fu, 0xf243b5556cbeba73u, 0x63149f303be79fd4u,
    0xf6aade431f712475u, 0x4cd2a557b6cbc24bu, 0x21bc6975c169de72u,
    0xcaf78cf40c768134u, 0xf13cdd624a12159fu, 0xd573d0041b390d3eu,
    0x69ea8bd93bade806u, 0x578baf3d78cd61f2u, 0x3318a93a7f689dc9u,
    0x2da7501cbdbe5235u, 0x5b6d448c9bb11200u, 0x036566ca66f231b4u,
    0xb89e51e9e2b737e4u, 0x704687541c9b68cfu, 0x28df28a35d2937c9u,
    0x8bfeb2756944b0b5u, 0x29c24143c2234e9cu, 0xf4fd794f8d02068fu,
    0x0590f068df15e57du, 0xe4ad98adab8dc009u, 0x4155b1828194a406u,
    0xce463027d4ff743fu, 0xd306231168ec0845u, 0xae01984986c0c339u,
    0xcc61983656980e5au, 0xb6b4b212af3d051au, 0x70aaf14a706ce17au,
    0x3547cbc995de3a40u, 0x6202b8d9e9e8565fu, 0x8a49ea181ddbac34u,
    0x53a7bcb92853ce41u, 0xa2aa132546a16f3au, 0xd6c166634bc92862u,
    0x92ff6acebc93a071u, 0x7a403280a96cea51u, 0x5a183b8f81665a24u,
    0x222b4c80d2c0e464u, 0x859e3d4d58ba3aa6u, 0xb9a28389cb2fe563u,
    0x83a20cb89512fee4u, 0xcbd691b061b30cbdu, 0x8839baf8f3ac9f09u,
    0x5ddf03b3edd1c4b8u, 0xf62694c4cb82ed09u, 0xd0c603b9879bd360u,
    0x8558daf780426657u, 0xc87fdb1b629e32abu, 0xd77938d516862fe1u,
    0xe33a56962759ec00u, 0x051bc82f174b90d9u, 0xab3b5debcad25c86u,
    0xa8766bd0dd9b35dbu, 0x425f26b683ca1487u, 0x5d3c2b40a076f653u,
    0x7464e98a72f8d634u, 0x2f02dd3eea4e7841u, 0x40977fe842527877u,
    0xfbf01ad4922b1d62u, 0xca959c2a8b4eea29u, 0x69ca7ca110533802u,
    0x6b36496357247bd9u, 0x7f7c07645ca7b232u, 0xb8c63fa50ae3677bu,
    0xa0b7fd74703947d8u, 0x231fb1a0dc8ce079u, 0x16b63342b7c96e77u,
    0xcd39a909d7e68027u, 0x1427685b19caecddu, 0x9c9c6cd28e91b74du,
    0x91c1fb790e0d3a54u, 0x7e67d3bdb81bb611u, 0xd396fc0d89f6e211u,
    0x457eacfbb049eb22u, 0x1de1979bf5654dd5u, 0x5d436ca7585d28cau,
    0xd3d7e2863218d979u, 0x2fa7be3ccf9d1645u, 0x1fb7a7e17b9eccb0u,
    0x2b2b1fced929c282u, 0xd85a90375e64310du, 0xcb336a1611227dbdu,
    0x636925f5baf870cdu, 0x43e0d0254b84715eu, 0x080ec57577219247u,
    0x175ee40f58fbd971u, 0x3d78cc365badbce1u, 0x8495a07683903295u,
    0x8f89c0d3396a3b53u, 0x639ba81c88d888a6u, 0x3faf8d9c775ca781u,
    0xeac40d3f519d2893u, 0x01fe31d8c7df7dc4u, 0x036d8003387dd6dbu,
    0x8c0621f768220a97u, 0x59d6a8cc7a082707u, 0x2aea572af8467560u,
    0x1c910136c9fdf9c3u, 0xc73eddfe111385e2u, 0x79edb9a2a6a387dfu,
    0xd556d17adcc5f6fbu, 0xf72709f96b28a3c7u, 0x552d69f0428dce6au,
    0x9cbbb4be9a92c216u, 0x4f37aef6caf41c5du, 0xd3431110cdd7a998u,
    0x3c7c1de5b3cc1dcau, 0x048311a7625eabd9u, 0x5ee41cb40ca81e2cu,
    0x43385b68e51dbffcu, 0xd36a1f70d4f9a2ffu, 0xcaeaccb927b0cb5cu,
    0x3fddae4163e010e4u, 0x0e7f5452a8c91ee0u, 0x7e61315458970ccbu,
    0x8b821c0b10054c75u, 0xc444cf11f9840608u, 0x2536b7a7602f6b4du,
    0x331786d5a126f97fu, 0xc9a9cd708372db93u, 0xd7e75a07542451dau,
    0xa4e5a10d28659104u, 0x9024ebcbf8b8e6afu, 0x08137c3380f32523u,
    0x32a31118a95e425fu, 0xbd640b6140802b1eu, 0x967e3cd0f12b1c5fu,
    0x031089e87fbab9a7u, 0xf11bfbb3ba3e0841u, 0x3b7fc3ad0d1cd36bu,
    0xbfb2f4d968b759c3u, 0x4c8475564905d202u, 0xe0a80b2a6236fa83u,
    0x86a5b8671a833ae3u, 0x79608828eb8fe58du, 0x032bcb9f5721e717u,
    0x12d224e5dc7e16deu, 0x29e68b8251e0d495u, 0x2bc04a7508cb08a3u,
    0x85f835a648329d25u, 0x4d2799f797ec19a8u, 0x443aadc076f2ed10u,
    0x89357de277e46717u, 0xaf7907aeb63c9d6cu, 0x27ce6be004db5b35u,
    0x9bbf0228d95bf1d8u, 0xae31e17b25e1b363u, 0x23e9429e957db925u,
    0x950e5fab3c7e6825u, 0x2aea3671bf9f5933u, 0xb2d2ef433932102cu,
    0x0d7ed21ec77fc8c1u, 0xea5f1280f48e6247u, 0x17b747cdf311ae42u,
    0xe001060ea9fa838eu, 0xaca7508c5bccfc84u, 0xa3aaa0843f04f963u,
    0xf949f7a4e8ebd3a5u, 0x22876bdefd41df6cu, 0xc124724f07e69e7cu,
    0xbf470df23d5aa6b4u, 0x2998352099f590b8u, 0x11cc90f45895653du,
    0x03550da1ab28f8d1u, 0x7842cc5c2b1b34dbu, 0x08b79b3694ac8400u,
    0xbf72d50b84f96e2cu, 0x947079f8eb08f590u, 0x696cb72182050872u,
    0xd4885bc9ac36d5a7u, 0x6cb888b579fe97e1u, 0x629482105204e4fdu,
    0x3cef790816b93701u, 0xbda77a26be136556u, 0xfb8f861314dda828u,
    0x08a2b7b803ae5bcfu, 0xd3c8a91ed0323140u, 0x870001a0b867ec3eu,
    0xe4f6c1f9b093dde5u, 0x8e086becbc0b8378u, 0x9e755197c06ffcc7u,
    0x246705ee34f204f8u, 0xc7927582d516264cu, 0xb3e17ba47546133cu,
    0xa33f111b5caab4e2u, 0xa23d8e161443255eu, 0x48f128b344d0819cu,
    0x6cd122fb39ab204du, 0x5c2910bf238f36aau, 0x90aeac10e05f9bbau,
    0x9d54b6b00fe42acau, 0xe88f64387a0fcdcbu, 0xc45a205f01473609u,
    0xc768ed8eb6b8c82du, 0xf225920d43fd23acu, 0x25bdad5a8a817964u,
    0x7ebc9cefb9015aabu, 0x3c1ee78fa4ea733du, 0xe30e85d1757922a4u,
    0x61123dc5e081fe21u, 0xdc86c11079674e66u, 0x8918973fb91ab9fbu,
    0x00d4ee55ca6d8c2au, 0xd500476d5215b5b5u, 0xfc5068b3e2ea6d2au,
    0x205da910dd23cb85u, 0x979b5e11369f775bu, 0x2bc872747d65ead7u,
    0x96ba83aa2ac19de7u, 0xa2258710d3a06bd5u, 0x02bcfbd9169343e7u,
    0x88eecd99246b6273u, 0x234b301b2d3c0302u, 0x3c61095d0931ecbfu,
    0xc1fbeae253e44498u, 0x9bf8d56e39d28810u, 0xef025e3275852770u,
    0x3b81d83bc6a5b26du, 0x740e3af17358a76bu, 0x5a0491610c217837u,
    0xb234c04ee9707bbau, 0xe8d67481cf12c324u, 0x3dc1a80712de14dfu,
    0x9646cd056265e405u, 0xc9ed5b85fe5de223u, 0xc034e6309514ca00u,
    0xa55cb1a9ea35e9bdu, 0x83585dac1418cf4cu, 0xc6bfe6b67ae71dfau,
    0xedde6a8095841598u, 0x8c478074a66108d3u, 0x49f4fb28492601c4u,
    0x6c1f1e9a65e7acb8u, 0x44c3f220e0a3a35fu, 0xc4422797ac160d7eu,
    0xa9bed55a11ad2c15u, 0x29bdbe2cde52ac8du, 0xa2486ed01638fb0cu,
    0x7be91fdd8fa25058u, 0x6d06c94a2118cf50u, 0xbe19f2b9fcb649e5u,
    0x6da310d0ddefe702u, 0x9db4d6197fe76870u, 0xa1a8e96dd484eb63u,
    0xa2803dfd82f85916u, 0x3a1a0a44d7644c46u, 0x1a25188bb552aa62u,
    0xfa3eab18c620bd11u, 0x33d24f4edd10ea99u, 0x386d39256536cc6cu,
    0x607e759efb2ba1e8u, 0x921ebb3d7c6c6071u, 0x96ba6b088f86692fu,
    0xb2bd2aeaeafed279u, 0xb70cc2def3ab10acu, 0x2b1c1284b0b6db2bu,
    0xd7d4c4db5bbdff92u, 0x3f5b8190a0a0241eu, 0x1b79f6457e60cfaeu,
    0xa05c318c94181e91u, 0x3480a671b033e3d5u, 0x7579955efbbaa755u,
    0x2777c9f6d0c6b0d7u, 0x2a0f21c2f6662c43u, 0xc286b4bc45869bbcu,
    0x3de266b1c86ed249u, 0x0596478ee80942c5u, 0x6fd3618b2ee6ae1bu,
    0x3f08073a3e5dea77u, 0x0e7847d01d6e71afu, 0xcd1f81afc4fbaafeu,
    0x24be71c60778c940u, 0x1dc2b6df046a9621u, 0xd0944e93950f6ccfu,
    0xe2c767041ea34007u, 0x521bf9c9206576c6u, 0x866b7a2bd7715e51u,
    0x7a97753c8c793641u, 0x52daac19784a65e4u, 0x07d3110b7c73f7ebu,
    0xa66b273fbcc429b7u, 0x16302dc85a75540au, 0xc840d3700a56e4deu,
    0xd6875303fcd05bffu, 0xabbeed06a5e32588u, 0x758a6526f8636a3au,
    0x01be7adae8e62038u, 0xc9b4bec75bc4f40au, 0xdc7a69ce0a9fc1c3u,
    0xf93f853c0adbaa64u, 0xbe48b8658e39d5b6u, 0x5233cc88f307cb85u,
    0x81f48c566746e404u, 0xe6e72b2f3e111192u, 0x6ee3ad5d7b4333d5u,
    0x3bebf80abf44e35eu, 0x324f3dfa2996372cu, 0xa60900d584d3294fu,
    0xcfb39707d3e017c8u, 0xd33cd1090a56f237u, 0xfae17ac7e5605d43u,
    0xc8c0106f0ead4419u, 0x89bba8037b2a60beu, 0x6999983c12a6557du,
    0x29ecb289d4fc6351u, 0xdc4e3ec308888d22u, 0x2492188c7c1156a7u,
    0x476502781cf85a10u, 0x8e5d5db3b1c10b44u, 0x15bff6623ba91eb7u,
    0x716a28bba3f09c65u, 0xd7f47607c92f30f1u, 0x9e04907834879dadu,
    0xa611c59795db7099u, 0x9a74c74315758aa3u, 0x536d4c40116f3239u,
    0x52539ac587ad97d0u, 0x1f1a1675f28959c3u, 0x8c6d78f5619e8324u,
    0x2af1cfe563eff7adu, 0x3f9d2212e5c94b1du, 0x7e023d467b37b61fu,
    0xfaab76adabeee96bu, 0xcff95dd9926b62d1u, 0x3aa278a62172db76u,
    0x9982abe519c8c867u, 0x34c2118df1f5857eu, 0xfa7376b640136c80u,
    0x98a7d04ca29ade2fu, 0x6d9f14b04d77e77eu, 0x4b3dad048bed47a1u,
    0x4c9ee5e4931d3231u, 0xbaf4eba543f33d0au, 0x793aafa07373d926u,
    0x986ea60fe6b39a32u, 0xe31f344f666361e6u, 0xf21cbedc44c049cbu,
    0xc4f752a0eb5e5403u, 0xaf1b99e27d410520u, 0x592740a0e5b8c3ddu,
    0x04fc4ea5fb446c97u, 0xad6e587f47afe7a6u, 0xde542c137b8384a4u,
    0x2a0ffc0f7b301e5cu, 0x820547300a5d8af4u, 0xd3c639c2087dc079u,
    0x0a467ca8709a2bb6u, 0xe242bb6bb4da36deu, 0x6079b0531ec90376u,
    0x058ccf98dc1843f7u, 0x8417b417b011aec1u, 0xecdedd4ff0dd641bu,
    0x8c3787282349e832u, 0xd5f0bb8816e7e8fbu, 0x85b650480fd8c2f4u,
    0x7d45aa734f760b6du, 0x5962428553d20814u, 0x400e2ba01968e7c4u,
    0x077e19b9a3f76000u, 0x1d17558f6164030cu, 0x79753148c0e6c59fu,
    0x9a77d2f2ef3bd843u, 0x666eb88d8701e16fu, 0x5572e7ce34288668u,
    0xeb8d82b15491d607u, 0x77c265a71aebbe54u, 0x4947dddd6f3e9e07u,
    0x628dfe635c795586u, 0x22673e39d43ff99bu, 0x637e086dc78cf522u,
    0xee37e3669f7e9c66u, 0x92d7bb47a4afe838u, 0x1f9eabdfdbe2b7bdu,
    0x324fca6af2b5c1d1u, 0x59e4a152525b1b29u, 0x7c91d10a8d75740eu,
    0xcc7c533a7fca95d8u, 0x1266fbf77386b1dbu, 0x689a66ba46d1c3bdu,
    0x4bd671b124b5701au, 0x2c43fd0a9eaec04du, 0x58143117e4e16555u,
    0x8358c5bb1248ac23u, 0xaaf677bd80e30ac5u, 0xfc997227a4f07f8fu,
    0xa848cc5d9cb0e150u, 0x640a711eb0e49b41u, 0x64fcbfa01dca3978u,
    0x980aab2fff6bc784u, 0x395c6750aa42e65eu, 0x287fea4c9695f3f4u,
    0x9516361749f6428au, 0xc977d592999f2194u, 0xc45166d9f6935ff8u,
    0xa7f503a28f431ca9u, 0x51d3a3c351be10ecu, 0xf579e080162896e9u,
    0xe5b5e9385b202824u, 0xfbba1e4a59b0c60cu, 0xa8de655829aab207u,
    0xe1de048dc78b382eu, 0x74535a96cc7adfd7u, 0x7e57a19b735ef03bu,
    0x39a00a3a31c025c6u,
};

const uint32_t alt__gorand_powers[ALT__GORAND_LEN] = {
     638022372u, 1402304087u,  353718330u,  631416347u,  662405787u, 1696049367u,
    1272185027u,  928270262u, 1057382352u,  412013968u,  180318217u, 1243696899u,
     942409124u, 2130959757u, 1500063655u,  163677341u,  948709761u, 1003765604u,
     200599677u,  837051536u, 2058462609u, 1869683330u, 1318652553u,  547639202u,
    1925544752u,  580853881u, 1391748448u,  324855843u, 1161007069u, 1578591759u,
      15580725u, 1227253027u,  365367087u, 1427401579u,  785648268u, 1771495544u,
    1487339364u, 1143645057u, 1257001204u, 1959645388u, 1228493995u, 1095330162u,
    1291602570u, 1082702230u, 1703981298u, 2071152004u, 1318106053u,  120706635u,
     937051507u,  109656047u, 1185967639u, 1148467491u, 1793595727u,  682122561u,
     436238233u, 2047876379u, 1889033429u,  130664516u,  255849967u,  484956294u,
    1851087174u, 1620397346u, 1431360801u, 1783648424u, 1594949642u, 1217156878u,
    1428751935u,  997617804u, 1173473289u, 1311144361u,  933277027u, 1437405485u,
     649176859u, 1012383909u,  555299827u, 1500578663u, 1028166882u,  411857501u,
     528003979u,  836687898u,  643931419u,  990831342u, 2022614836u,  391404149u,
    1574528126u, 1536849906u, 2050693698u,     665722u, 1415443241u, 1405054966u,
     898240668u, 1941019693u,  768722895u, 1450405765u, 1181443395u, 1327800209u,
      49739769u, 1451777401u,  928356352u, 2014712902u, 1254807928u, 1451163856u,
    1176971661u, 1561475468u, 1763157668u,  509346169u, 1581827419u, 1241625001u,
     383522323u,  286556422u, 2018929742u,  653956392u,  200099452u, 1681023550u,
     842746823u, 1361562119u, 1207216665u, 1461049948u, 1564823704u,  564470027u,
     773186835u, 1340842511u,  666146107u, 2075554490u,   85393440u, 1333622991u,
     320098006u, 1857595773u, 1546558999u,  699538013u, 1366056636u,  149781597u,
    1255319151u, 2058790459u,  692117792u,  871317173u,   88814034u, 1577648274u,
    1813394111u,  251497715u,  314880008u,  371878377u, 1868660612u, 1031308463u,
     238267161u,   62136680u,  867099542u, 1398526716u,  585430828u, 1397868217u,
     393770244u,  270315170u, 1581236663u, 1972398876u, 1734622442u, 1586478184u,
     488865541u, 1568219124u, 1988567079u, 1728933523u, 1023644712u, 1032075974u,
    1826244939u,   33068610u, 1670153042u,  183632911u,  970386683u, 2120376465u,
    1033984573u, 1785778226u, 1555243200u,  477166350u, 1594083231u,  117375378u,
     773989025u, 1440613698u, 1177378828u, 1424571833u,  507578037u, 2044083804u,
      48400057u,  804150002u, 1650785166u,  844918956u, 1015056911u, 2094441447u,
    1800090502u,  396937661u, 1269059734u,  739441405u,  808145125u,  844648878u,
     781112367u, 2021007630u, 1432113839u,  416137318u,  749692528u, 1932308370u,
    1237279036u, 1724908659u,   52019422u, 2033250834u,  622153082u, 1647036380u,
     355555834u,  239889655u,   49277287u, 1976595754u,  702755162u, 1221840923u,
     707571144u, 1915181334u, 1838649176u,  541860552u, 1425787734u, 1010428628u,
    2008120519u, 1915588099u,  104560296u,  885537174u, 1482458522u, 1030166274u,
    1675116480u,  983852907u, 1875966926u,  943620530u,  314611972u,   56372529u,
     391876445u,  350636383u,  936573344u, 1042058244u, 1979751151u, 1146770522u,
     227451165u, 1407099740u, 1268005822u, 1325757504u,  106336881u,  924874446u,
    1489502077u, 1352173984u,  259485668u, 1061566694u,  333070525u, 2068435081u,
    1909744638u, 1185988557u, 1349897226u, 1644661425u, 1693950046u,  944162125u,
    1526387359u,  125032369u, 1819259554u, 1173607460u, 1483819319u,  646321023u,
     112675721u,  814687620u, 1732689586u, 1605153984u,  459631914u, 2085059148u,
    1912796878u,   60823166u,  725320733u, 1031413174u,  737890811u, 1362862579u,
    1226782580u, 1376587580u, 1461575911u, 2038022939u,  138106566u,  591721755u,
    2130829484u, 1482985757u, 1332670546u, 1861622868u, 1697120681u,  123309245u,
    1590155325u, 1177068541u, 1648240575u, 2074745789u, 1259481159u,  671842302u,
    1439139226u, 2082183302u,  872144181u,  980918141u, 1489211613u,  744112017u,
     152361162u, 1541655225u,  118025608u, 1857513806u, 1398382514u,   52013108u,
      13864642u, 1263779726u, 1669523426u, 1854483569u, 1581607459u,  126940072u,
      35177071u,  629826425u, 1227298183u, 1821888665u,  635702925u,  336409880u,
    1701923501u,  810226129u, 1224916623u, 1154623084u, 1552698871u,  750037089u,
    1191514075u,  587601279u,   31131874u, 1156019613u,  162313436u, 1324185567u,
    1372611682u,  128468935u, 1641974594u, 2076422031u,  172516160u,  591323586u,
      57419783u,  222931946u, 1150153374u, 2082024995u,  170153285u,  511245223u,
    1733307616u, 1499206426u,  394524006u, 1864798730u, 1456234402u, 1278938075u,
     946810729u, 1345685488u,  314908690u,  362055173u, 1185837091u,  332597698u,
     461442104u,  952518227u,  899318023u,  300560686u, 1250029499u, 2034260849u,
     947839747u,  605272895u,  722125466u,  741213466u, 1880021620u,  515551667u,
     270986276u,  167213495u, 1852163880u, 1530763302u, 1679317719u, 1022961039u,
    2020487159u,  161142475u,  361951641u,  674878312u,  415368775u,   29537185u,
     329622749u, 1896312408u,   99957159u, 2114793315u, 1466964647u,  820330478u,
     357733618u,  416452727u,  800997118u, 1634327707u, 1174440474u, 1782675778u,
    1152242527u, 1221864807u,   75406507u,  949909549u,  229873860u, 1300025092u,
     112132540u,  150022275u, 1990494255u,  243959748u,  112486718u, 2003399688u,
    1870247781u, 1489214341u, 1796179945u, 1169618887u, 1988373374u, 1715161688u,
    1330194565u,  519302941u, 1115289854u,  831038671u, 1987226463u, 1891433148u,
     716239731u,  577021350u,  314120176u,  473231994u, 1098344760u, 2067455506u,
    1956229478u,  416681137u,  690574693u, 1721908168u, 2027529434u, 1060104295u,
    1517056457u, 1783616658u,  377625960u, 1892987522u,  403861726u,  253594489u,
    1405075472u, 1620921827u, 1465268461u, 1099067564u,   67147183u,  937968087u,
    1765326938u,  866122477u,  145868446u,   76671766u,  511933074u, 1713808875u,
    2141820393u,  971791567u, 1376421032u, 1303284021u, 1067106679u, 1220345087u,
     974444123u,  219679714u,  750084308u, 1768479544u,  504570677u,  388100345u,
    1267742679u, 1908539380u, 1103568864u, 1102911387u,   14381390u,  739992498u,
    1261956076u,  212053958u,  238736388u, 1949635812u, 2075198054u,  692639712u,
     767738167u, 1990865100u, 1547308242u, 1193600638u,  794208377u, 1447120450u,
    1751517856u, 2073562641u,  975420414u,  512592075u, 1645640837u, 1603496194u,
    1886486273u,  352392433u, 1457483409u,  448956459u,  630785682u,  574718641u,
     192920782u, 1880279994u,  253658053u,   67202601u,  419740513u,  106986521u,
     294627525u, 1625586387u, 2128109506u, 1790707151u, 1319372516u, 1891496123u,
    1103473691u, 2108994860u, 1421726169u, 1666665189u, 1282040363u,  885059754u,
    1996070808u, 1694028028u,  254536112u,  211668994u,   14639137u,  374840281u,
    1196713153u,  803527474u, 2005800631u,  427715621u,   50051965u, 1189719277u,
    1761590880u,  411034225u,  168310556u,  758111439u, 2069286618u, 1895730542u,
     883690712u, 2053002815u, 1125802713u, 1150980800u, 1611312406u,  705184005u,
    1363482444u,    8504544u, 1484848821u,   23291977u,  111547545u, 1723381188u,
     770574319u,  690083156u, 1602594175u,  864937296u,  828504744u,  692005742u,
    1817443027u,  649450869u,  212195050u,  328478538u, 1325333340u, 1982202808u,
    1843188054u,  779195958u,  850620995u, 1032819873u,  970994591u,  100868457u,
     883255579u, 1273016173u,  525615254u,  832099050u, 1287734943u, 2000008484u,
    1095944960u, 2105593228u,  851502477u, 2100635518u, 1227509221u,  213683210u,
      98975175u,  747318637u,  777843559u, 1576301524u,  479353148u,  895298320u,
     576185401u,   79910262u,  526772264u,  784593073u, 1208064742u, 2134199699u,
     561135111u, 2007743526u,  363523436u,  714123341u, 1349325769u, 1310133132u,
     517261068u, 1870608618u, 2069131393u, 1985580407u, 1753782952u,  744042763u,
    2142372727u, 2023855382u, 1613571670u, 1333322651u, 1949005083u,  942616790u,
    1036034826u, 1749506909u, 1606258935u,  808808645u, 1876901775u,  689634166u,
     944902682u, 1271558469u,  314771828u, 1821766482u,  495310112u,  625480410u,
     275965982u,  546920338u,  337976878u,  262738336u, 1869090542u,   12551063u,
     933195560u,
};
/* END GENERATED */

/* a * b mod 2^31-1 for a, b < 2^31: fold the 62-bit product twice. */
static inline uint32_t mulmod(uint32_t a, uint32_t b)
{
    uint64_t t = (uint64_t)a * b;
    t = (t & GO_M) + (t >> 31);
    t = (t & GO_M) + (t >> 31);
    return (uint32_t)(t >= GO_M ? t - GO_M : t);
}

static uint32_t reduce_seed(int64_t seed)
{
    /* C's % truncates toward zero, as Go's does. */
    int64_t s = seed % (int64_t)GO_M;
    if (s < 0)
        s += GO_M;
    if (s == 0)
        s = GO_ZERO_SEED;
    return (uint32_t)s;
}

/* vec[i] right after seeding with the reduced seed x0. */
static inline uint64_t seeded_word(uint32_t x0, unsigned i)
{
    uint32_t a = mulmod(x0, alt__gorand_powers[i]);
    uint32_t b = mulmod(a, GO_A);
    uint32_t c = mulmod(b, GO_A);
    return ((uint64_t)a << 40 ^ (uint64_t)b << 20 ^ c) ^ rng_cooked[i];
}

/* The raw 64-bit draw k, k < ALT__GORAND_FAST (see above). */
static uint64_t fast_draw(uint32_t x0, unsigned k)
{
    uint64_t sum = 0;
    for (;;) {
        unsigned feed = k <= 333 ? 333 - k : 333 + ALT__GORAND_LEN - k;
        sum += seeded_word(x0, feed);
        if (k < GO_TAP)
            return sum + seeded_word(x0, 606 - k);
        k -= GO_TAP;
    }
}

/* A port of Go's rngSource.Seed, Lehmer steps by Schrage's method as Go
 * takes them: deliberately not the power table, so that each checks the
 * other. */
static int32_t seedrand(int32_t x)
{
    const int32_t q = 44488, r = 3399;
    int32_t hi = x / q, lo = x % q;
    x = (int32_t)GO_A * lo - r * hi;
    if (x < 0)
        x += (int32_t)GO_M;
    return x;
}

void alt__gorand_full_seed(alt__gorand_full *g, int64_t seed)
{
    g->tap = 0;
    g->feed = ALT__GORAND_LEN - GO_TAP;
    int32_t x = (int32_t)reduce_seed(seed);
    for (int i = -20; i < ALT__GORAND_LEN; i++) {
        x = seedrand(x);
        if (i >= 0) {
            uint64_t u = (uint64_t)x << 40;
            x = seedrand(x);
            u ^= (uint64_t)x << 20;
            x = seedrand(x);
            u ^= (uint64_t)x;
            u ^= rng_cooked[i];
            memcpy(&g->vec[i], &u, sizeof u);
        }
    }
}

static uint64_t full_uint64(alt__gorand_full *g)
{
    if (--g->tap < 0)
        g->tap += ALT__GORAND_LEN;
    if (--g->feed < 0)
        g->feed += ALT__GORAND_LEN;
    /* Unsigned: Go's int64 addition wraps, C's signed one may not. */
    uint64_t a, b;
    memcpy(&a, &g->vec[g->feed], sizeof a);
    memcpy(&b, &g->vec[g->tap], sizeof b);
    uint64_t x = a + b;
    memcpy(&g->vec[g->feed], &x, sizeof x);
    return x;
}

int64_t alt__gorand_full_int63(alt__gorand_full *g)
{
    return (int64_t)(full_uint64(g) & GO_MASK);
}

/* Go's Int31n on an Int63 source: a power of two masks Int31 (the top 31
 * bits of Int63); any other n rejects Int31 values above the largest
 * multiple of n, less one, so that every residue is equally likely. A
 * draw of -1 (out of fast draws) is passed on. Inlined with a constant
 * source, so the indirection costs nothing. */
static inline int32_t int31n(int64_t (*next)(void *), void *src, int32_t n)
{
    if (n <= 0)
        return -1;
    int64_t v63 = next(src);
    if (v63 < 0)
        return -1;
    int32_t v = (int32_t)(v63 >> 32);
    if ((n & (n - 1)) == 0)
        return v & (n - 1);
    int32_t max = INT32_MAX - (int32_t)((UINT32_C(1) << 31) % (uint32_t)n);
    while (v > max) {
        v63 = next(src);
        if (v63 < 0)
            return -1;
        v = (int32_t)(v63 >> 32);
    }
    return v % n;
}

static int64_t full_next(void *g)
{
    return alt__gorand_full_int63(g);
}

int32_t alt__gorand_full_intn(alt__gorand_full *g, int32_t n)
{
    return int31n(full_next, g, n);
}

void alt__gorand_seed(alt__gorand *r, int64_t seed)
{
    r->x0 = reduce_seed(seed);
    r->draws = 0;
    r->full = NULL;
}

void alt__gorand_attach(alt__gorand *r, alt__gorand_full *scratch)
{
    /* The reduced seed reduces to itself, so it seeds the same state. */
    alt__gorand_full_seed(scratch, r->x0);
    for (uint32_t k = 0; k < r->draws; k++)
        (void)full_uint64(scratch);
    r->full = scratch;
}

int64_t alt__gorand_int63(alt__gorand *r)
{
    if (r->full) {
        r->draws++;
        return alt__gorand_full_int63(r->full);
    }
    if (r->draws >= ALT__GORAND_FAST)
        return -1;
    return (int64_t)(fast_draw(r->x0, r->draws++) & GO_MASK);
}

static int64_t fast_next(void *r)
{
    return alt__gorand_int63(r);
}

int32_t alt__gorand_intn(alt__gorand *r, int32_t n)
{
    uint32_t before = r->draws;
    int32_t v = int31n(fast_next, r, n);
    /* Out of fast draws: consume nothing, so that the same call after
     * alt__gorand_attach() gives Go's answer. */
    if (v < 0)
        r->draws = before;
    return v;
}

/* ---- The query plan ------------------------------------------------- */

/*
 * Go's pickAndRemove over a virtual array a[i] = i: idx = Intn(len),
 * take a[idx], a[idx] = a[len-1], len--. Only the slots a pick wrote
 * differ from the identity, at most one per pick, so a short list of
 * (slot, value) overrides stands in for the array: O(picks^2), no matter
 * how many nodes.
 */
typedef struct {
    uint32_t slot[ALT__PLAN_MAX];
    uint32_t value[ALT__PLAN_MAX];
    unsigned count;
} overrides;

static uint32_t ov_get(const overrides *o, uint32_t slot)
{
    for (unsigned i = 0; i < o->count; i++)
        if (o->slot[i] == slot)
            return o->value[i];
    return slot;
}

static void ov_set(overrides *o, uint32_t slot, uint32_t value)
{
    for (unsigned i = 0; i < o->count; i++)
        if (o->slot[i] == slot) {
            o->value[i] = value;
            return;
        }
    o->slot[o->count] = slot;
    o->value[o->count++] = value;
}

/* want <= ALT__PLAN_MAX. SIZE_MAX when r ran out of fast draws. */
static size_t plan_with(alt__gorand *r, size_t n_active, size_t n_quarantined,
                        size_t want, uint32_t *out)
{
    size_t done = 0;
    /* Active first; the quarantined with the same generator after them. */
    for (int pool = 0; pool < 2 && done < want; pool++) {
        uint32_t base = pool ? (uint32_t)n_active : 0;
        uint32_t len = (uint32_t)(pool ? n_quarantined : n_active);
        overrides o = {.count = 0};
        while (len > 0 && done < want) {
            int32_t idx = alt__gorand_intn(r, (int32_t)len);
            if (idx < 0)
                return SIZE_MAX;
            uint32_t at = (uint32_t)idx;
            out[done++] = base + ov_get(&o, at);
            if (at != len - 1)
                ov_set(&o, at, ov_get(&o, len - 1));
            len--;
        }
    }
    return done;
}

/* The rare plan that needs more than ALT__GORAND_FAST draws: the full
 * state (4.9 KB) on the stack of this function alone, which must not be
 * inlined into the common path's frame. */
#if defined(__GNUC__)
__attribute__((noinline, cold))
#endif
static size_t plan_full(int64_t seed, size_t n_active, size_t n_quarantined,
                        size_t want, uint32_t *out)
{
    alt__gorand_full scratch;
    alt__gorand r;
    alt__gorand_seed(&r, seed);
    alt__gorand_attach(&r, &scratch);
    return plan_with(&r, n_active, n_quarantined, want, out);
}

/* Go's Intn(n) is Int31n only below 2^31; past that the plan would need
 * Int63n, which no cluster comes near. */
static bool plan_size_ok(size_t n_active, size_t n_quarantined)
{
    return n_active <= INT32_MAX && n_quarantined <= INT32_MAX
           && n_active + n_quarantined <= INT32_MAX;
}

size_t alt__plan(int64_t seed, size_t n_active, size_t n_quarantined,
                 size_t want, uint32_t *out)
{
    if (!plan_size_ok(n_active, n_quarantined))
        return 0;
    if (want > ALT__PLAN_MAX)
        want = ALT__PLAN_MAX;
    alt__gorand r;
    alt__gorand_seed(&r, seed);
    size_t got = plan_with(&r, n_active, n_quarantined, want, out);
    if (got == SIZE_MAX)
        got = plan_full(seed, n_active, n_quarantined, want, out);
    return got;
}

uint32_t alt__plan_first(int64_t seed, size_t n_active)
{
    if (n_active == 0 || n_active > INT32_MAX)
        return 0;
    alt__gorand r;
    alt__gorand_seed(&r, seed);
    int32_t idx = alt__gorand_intn(&r, (int32_t)n_active);
    if (idx >= 0)
        return (uint32_t)idx;
    uint32_t first = 0;
    (void)plan_full(seed, n_active, 0, 1, &first);
    return first;
}

size_t alt__plan_reference(int64_t seed, size_t n_active, size_t n_quarantined,
                           size_t want, uint32_t *out, uint32_t *scratch,
                           size_t scratch_len)
{
    size_t total = n_active + n_quarantined;
    if (!plan_size_ok(n_active, n_quarantined) || scratch_len < total)
        return 0;
    alt__gorand_full g;
    alt__gorand_full_seed(&g, seed);
    for (size_t i = 0; i < total; i++)
        scratch[i] = (uint32_t)i;
    size_t done = 0;
    for (int pool = 0; pool < 2; pool++) {
        uint32_t *nodes = scratch + (pool ? n_active : 0);
        size_t len = pool ? n_quarantined : n_active;
        while (len > 0 && done < want) {
            int32_t idx = alt__gorand_full_intn(&g, (int32_t)len);
            out[done++] = nodes[idx];
            nodes[idx] = nodes[len - 1];
            len--;
        }
    }
    return done;
}
