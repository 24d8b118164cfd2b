/*
 * quantity.h: Kubernetes resource quantities ("100m", "0.5", "128Mi", "1G",
 * "1e3", "2Ki") parsed exactly, without floating point, into integers:
 * milli-units for cpu and other fractional resources, whole units (bytes)
 * for memory and storage. Rounding follows Kubernetes: a value that is not a
 * whole number of the requested unit rounds up, away from zero
 * (MilliValue()/Value(): "0.1m" -> 1 milli, "-1.5" -> -2 units).
 *
 * Syntax (k8s.io/apimachinery/pkg/api/resource): an optional sign, digits
 * with an optional fraction ("5.", ".5"), then one of: nothing, a decimal
 * SI suffix (n u m k M G T P E), a binary SI suffix (Ki Mi Gi Ti Pi Ei) or a
 * decimal exponent (e3, E-2, e+6). No spaces anywhere.
 *
 * Where keelson differs from Kubernetes on purpose: a value that does not
 * fit in int64 of the requested unit is an error (Kubernetes silently caps
 * at 2^63-1), and a string without any digit ("m", "-", ".") is an error
 * (Kubernetes reads it as 0).
 */
#ifndef KS_CORE_QUANTITY_H
#define KS_CORE_QUANTITY_H

#include <jansson.h>
#include <stdint.h>

/* Longest quantity string accepted (KS_EINVALID past it). */
#define KS_QUANTITY_MAX_LEN 128

/* Room a formatted quantity needs, terminator included. */
#define KS_QUANTITY_FORMAT_SIZE 32

/* Parses s into thousandths of a unit ("100m" -> 100, "2" -> 2000,
 * "1Ki" -> 1024000). Negative quantities are valid syntax and come back
 * negative. KS_EINVALID (the message quotes s and says why) on bad syntax,
 * an unknown suffix, or a value that does not fit in int64. *out is written
 * only on success. */
int ks_quantity_parse_milli(int64_t *out, const char *s);

/* Parses s into whole units, rounding up ("128Mi" -> 134217728,
 * "1.5" -> 2, "100m" -> 1). Same errors as above. */
int ks_quantity_parse_value(int64_t *out, const char *s);

/* Same two, accepting a JSON string or number (YAML `cpu: 2` / `cpu: 0.5`).
 * A real is read through its shortest decimal representation (0.1 is
 * "0.1", never 0.1000000000000000055...). Any other JSON type is
 * KS_EINVALID. */
int ks_quantity_json_milli(int64_t *out, const json_t *v);
int ks_quantity_json_value(int64_t *out, const json_t *v);

/* Canonical text for a milli-value, as Kubernetes prints a DecimalSI
 * quantity: trailing zeros folded into the largest SI suffix whose
 * exponent is a multiple of 3 ("250m", "2", "1500m", "1k", "0").
 * Writes into dst of size cap (KS_QUANTITY_FORMAT_SIZE always suffices;
 * shorter buffers truncate) and returns dst. */
char *ks_quantity_format_milli(char *dst, unsigned cap, int64_t milli);

/* Canonical text for a byte count: a BinarySI form when the count is a
 * non-zero multiple of 1024 ("128Mi", "1Gi", "3Ki"), otherwise the
 * DecimalSI form ("1500", "1G", "512"), both exactly as Kubernetes prints
 * a quantity of that format. Same buffer rules as above. */
char *ks_quantity_format_bytes(char *dst, unsigned cap, int64_t bytes);

#endif
