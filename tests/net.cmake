# test_net_train reads data/digits.csv.gz itself with zlib's gzopen (the
# library's loaders are tested elsewhere).
if(TARGET test_net_train)
  find_package(ZLIB REQUIRED)
  target_link_libraries(test_net_train PRIVATE ZLIB::ZLIB)
endif()
