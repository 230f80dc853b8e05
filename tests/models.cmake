# The nerve 0.1 compatibility files (tests/models/): the generator that wrote
# them once is compiled here so that it keeps building, but never run by the
# tests (the files must stay as 0.1 wrote them); tests/io/test_model_compat.c
# checks them.
add_executable(make_v1_models ${CMAKE_CURRENT_SOURCE_DIR}/models/make_v1_models.c)
target_link_libraries(make_v1_models PRIVATE nerve_static)
nerve_target_warnings(make_v1_models)
