/*
 * jsonequal.c: recursive equality over jansson trees (see jsonequal.h).
 */
#include "core/jsonequal.h"

bool ks_json_equal(const json_t *a, const json_t *b, enum ks_json_numbers numbers)
{
    if (numbers == KS_JSON_NUMBERS_BY_VALUE && json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!ks_json_equal(json_array_get(a, i), json_array_get(b, i), numbers))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)a, key, v)
        {
            const json_t *other = json_object_get(b, key);
            if (!other || !ks_json_equal(v, other, numbers))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}
