#ifndef AMNESIA_JPEG_TEST_ENCODER_H
#define AMNESIA_JPEG_TEST_ENCODER_H

#include <stddef.h>

/// Encodes interleaved 8-bit samples as a JPEG for the tests: `channels` 1 (gray), 3 (RGB)
/// or 4 (CMYK, written as Adobe CMYK); `progressive` for a multi-scan file; `exif` (or NULL)
/// is written as an APP1 segment as given. Returns the malloc'd bytes (free with free()) and
/// their count in `size`, or NULL.
unsigned char *amnesia_test_jpeg_encode(const unsigned char *pixels, int width, int height, int channels,
                                        int quality, int progressive, const unsigned char *exif,
                                        size_t exif_size, size_t *size);

#endif
