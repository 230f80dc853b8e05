# The layering rule, tested (tests/layers/check_layers.cmake): every layer's
# include path reaches exactly the layers it declares in CMakeLists.txt. The
# layer table is written from cmake/NerveLayers.cmake's variables.
set(_lay_cfg ${CMAKE_CURRENT_BINARY_DIR}/layers/layers_config.cmake)
set(_lay_text "set(SRC \"${PROJECT_SOURCE_DIR}/src\")\nset(NERVE_LAYERS \"${NERVE_LAYERS}\")\n")
foreach(l IN LISTS NERVE_LAYERS)
  string(APPEND _lay_text "set(NERVE_LAYER_DEPS_${l} \"${NERVE_LAYER_DEPS_${l}}\")\n"
         "set(NERVE_LAYER_INCLUDES_${l} \"${NERVE_LAYER_INCLUDES_${l}}\")\n")
endforeach()
file(WRITE ${_lay_cfg} "${_lay_text}")
add_test(NAME layers_enforced
         COMMAND ${CMAKE_COMMAND} -DCONFIG=${_lay_cfg} -DCOMPILER=${CMAKE_C_COMPILER}
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/layers -P ${CMAKE_CURRENT_SOURCE_DIR}/layers/check_layers.cmake)
set_tests_properties(layers_enforced PROPERTIES LABELS unit)
