// placeholder until SGD lands
