#ifndef AMNESIA_JPEG_DECODER_H
#define AMNESIA_JPEG_DECODER_H

#include <stddef.h>

/// What `amnesia_jpeg_decode` returns.
enum amnesia_jpeg_status {
    AMNESIA_JPEG_OK = 0,
    /// Not a JPEG, truncated or corrupt data, or any libjpeg warning (see `message`).
    AMNESIA_JPEG_CORRUPT = 1,
    /// The header declares more than `max_bytes` of decoded samples.
    AMNESIA_JPEG_TOO_LARGE = 2,
    /// A colour space other than grayscale, YCbCr or RGB (CMYK, YCCK, …).
    AMNESIA_JPEG_UNSUPPORTED_COLOR = 3,
    /// The decoded samples could not be allocated.
    AMNESIA_JPEG_NO_MEMORY = 4,
};

/// A decoded JPEG: 8-bit samples, row-major, channel-interleaved (1 = gray, 3 = RGB), and a
/// copy of the first EXIF APP1 segment's payload (starting at "Exif\0\0") when there is one.
/// Free both with `amnesia_jpeg_free`.
struct amnesia_jpeg_image {
    int width;
    int height;
    int channels;
    unsigned char *pixels;
    unsigned char *exif;
    size_t exif_size;
    /// Header facts for messages: libjpeg's colour space number and component count.
    int color_space;
    int components;
    /// libjpeg's message when the status is not OK.
    char message[256];
};

/// Decodes `size` bytes of JPEG (baseline or progressive). Every libjpeg error and warning
/// (a truncated file is only a warning to libjpeg) ends the decode with a status, never with
/// libjpeg's default `exit()`. Refuses a header whose samples exceed `max_bytes` before
/// allocating them, and a progressive file with more than `max_scans` scans.
int amnesia_jpeg_decode(const unsigned char *data, size_t size, size_t max_bytes, int max_scans,
                        struct amnesia_jpeg_image *out);

/// Frees what a decode allocated (safe on a zeroed or failed image).
void amnesia_jpeg_free(struct amnesia_jpeg_image *image);

#endif
