# Image decoders for `xrem prep` (src/pipeline/image_io.c): libjpeg-turbo for JPEG, libpng for PNG.
# Debian packages: libjpeg62-turbo-dev libpng-dev. Include this after add_library(xrem_lib ...):
#   include(cmake/prep_deps.cmake)
find_package(JPEG REQUIRED)
find_package(PNG REQUIRED)
target_link_libraries(xrem_lib PUBLIC JPEG::JPEG PNG::PNG)
