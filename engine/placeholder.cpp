// placeholder so the library has a source; removed when real sources land
