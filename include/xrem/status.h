/* xrem/status.h — how every xrem library function reports failure.
 *
 * Library functions return an xrem_status. XREM_OK is 0; anything else is a failure whose
 * one-line reason (naming the file, dataset, field or row at fault) is kept per thread and
 * read with xrem_last_error(). Only the CLI and the tests print and exit.
 *
 *   xrem_weights *w;
 *   if (xrem_weights_open("model.h5", &w) != XREM_OK) {
 *       fprintf(stderr, "xrem: %s\n", xrem_last_error());
 *       return 1;
 *   }
 */
#ifndef XREM_STATUS_H
#define XREM_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    XREM_OK = 0,
    XREM_ERR_IO,          /* cannot open, read or write a file */
    XREM_ERR_FORMAT,      /* the file is not what xrem expects (not HDF5, missing dataset, wrong arch) */
    XREM_ERR_SHAPE,       /* a tensor, image or sequence has the wrong shape or length */
    XREM_ERR_DTYPE,       /* a dataset has an unsupported element type */
    XREM_ERR_VALUE,       /* NaN/Inf or out-of-range values */
    XREM_ERR_ARG,         /* a bad argument from the caller */
    XREM_ERR_NOMEM,       /* an allocation failed or a size overflowed */
    XREM_ERR_DEVICE,      /* the accelerator failed or is absent */
    XREM_ERR_UNSUPPORTED, /* the backend or build does not provide this */
} xrem_status;

/* Short name of a status ("io", "format", ...). Static string, never NULL. */
const char *xrem_status_name(xrem_status s);

/* Reason for the last failure on this thread. Static per-thread buffer: copy it before the
 * next xrem call if you need to keep it. Empty string when nothing failed. */
const char *xrem_last_error(void);

/* Set the per-thread reason (printf-style) and return s. Used by the library and by callers
 * that want to report in the same way. */
xrem_status xrem_fail(xrem_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefix the current reason with more context ("reading weights W.h5: <old reason>"). */
xrem_status xrem_fail_context(xrem_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
